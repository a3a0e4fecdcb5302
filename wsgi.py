"""WSGI entry point: ``gunicorn wsgi:app``."""
from edc import create_app

app = create_app()

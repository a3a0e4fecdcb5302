"""MILenARI EDC — application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

REPO_ROOT = Path(__file__).resolve().parent.parent


def _coerce(default, text: str):
    if isinstance(default, bool):
        return text.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, list):
        return [t.strip() for t in text.split(",") if t.strip()]
    return text


def load_config(app: Flask, test_config: dict | None) -> None:
    """Defaults (edc/config.py) → instance/config.py → EDC_* environment → test_config."""
    app.config.from_object("edc.config")
    app.config.from_pyfile("config.py", silent=True)
    for key, value in os.environ.items():
        if key.startswith("EDC_") and len(key) > 4:
            name = key[4:]
            app.config[name] = _coerce(app.config.get(name), value)
    if test_config:
        app.config.update(test_config)
    url = app.config.get("DATABASE_URL") or \
        "sqlite:///" + os.path.join(app.instance_path, "edc.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if app.debug:
        app.config["SESSION_COOKIE_SECURE"] = False
    if not app.config.get("FORMS_DIR"):
        app.config["FORMS_DIR"] = str(REPO_ROOT / "forms")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(REPO_ROOT / "translations")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    if not app.config.get("SECRET_KEY"):
        if app.config.get("TESTING"):
            app.config["SECRET_KEY"] = "testing"  # nosec B105 — only with TESTING=True
        else:
            # Only `flask --app edc init` may run before a secret key exists.
            app.config["SECRET_KEY"] = None

    from .extensions import babel, csrf, db, login_manager, migrate
    from . import i18n

    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    from . import models  # noqa: F401  (register every table with the metadata)
    from .crf.definitions import DefinitionError, load_catalog

    try:
        app.extensions["edc_catalog"] = load_catalog(app.config["FORMS_DIR"])
    except DefinitionError as e:
        # The app refuses to start on an invalid definition, with the same message as
        # `flask --app edc forms check`.
        raise SystemExit("\n".join(["MILenARI EDC cannot start: " + str(e)])) from None
    from .web import register_web
    from .cli import register_cli

    register_web(app)
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_cli(app)
    return app

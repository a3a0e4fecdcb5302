import time

import pytest
from helpers import email_for, login, post, register_patient


def test_security_headers(client, world):
    r = client.get("/auth/login")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in r.headers
    r = client.get("/auth/login", base_url="https://edc.example.org")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_patient_pages_not_cached(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    for url in ("/", "/patients/", f"/patients/{pid}"):
        assert c.get(url).headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_pages(app, logged_in):
    import re
    pid = register_patient(app)
    c = logged_in("investigator")
    for url in ("/", "/patients/", f"/patients/{pid}", f"/patients/{pid}/forms/SCR/DM",
                "/patients/register", "/auth/login"):
        html = c.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html and "<style" not in html, url
        assert " onclick=" not in html and " onload=" not in html, url


def test_idle_timeout(app, world):
    c = app.test_client()
    login(c, email_for("investigator", "ES01"))
    assert c.get("/").status_code == 200
    with c.session_transaction() as s:
        s["seen_at"] = int(time.time()) - 31 * 60
    r = c.get("/")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert c.get("/").status_code == 302  # really logged out


def test_absolute_lifetime(app, world):
    c = app.test_client()
    login(c, email_for("investigator", "ES01"))
    with c.session_transaction() as s:
        s["login_at"] = int(time.time()) - 12 * 3600 - 5
    assert c.get("/").status_code == 302


def test_lifetimes_are_configurable(app, world):
    app.config["SESSION_IDLE_MINUTES"] = 1
    try:
        c = app.test_client()
        login(c, email_for("investigator", "ES01"))
        with c.session_transaction() as s:
            s["seen_at"] = int(time.time()) - 90
        assert c.get("/").status_code == 302
    finally:
        app.config["SESSION_IDLE_MINUTES"] = 30


def test_unreachable_database_gives_translated_503(app, world, monkeypatch):
    c = app.test_client()
    login(c, email_for("investigator", "ES01"))
    post(c, "/language", {"lang": "es"})
    from sqlalchemy.exc import OperationalError

    from edc.extensions import db

    def boom(*a, **k):
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server"))
    with app.app_context():
        engine = db.engine
    monkeypatch.setattr(engine, "connect", boom)
    r = c.get("/patients/")
    assert r.status_code == 503
    html = r.get_data(as_text=True)
    assert 'lang="es"' in html and "Traceback" not in html
    monkeypatch.undo()
    assert c.get("/patients/").status_code == 200  # back, and still logged in




def test_read_only_sqlite_gives_clear_error(app, world, tmp_path):
    """A database that refuses writes: the user sees a clear 503, nothing half-saved."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite read-only mode")
    pid = register_patient(app)
    c = app.test_client()
    login(c, email_for("investigator", "ES01"))
    from sqlalchemy import event

    from edc.extensions import db
    with app.app_context():
        engine = db.engine

    def readonly(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            import sqlite3
            raise sqlite3.OperationalError("attempt to write a readonly database")
    event.listen(engine, "before_cursor_execute", readonly)
    try:
        r = post(c, f"/patients/{pid}/forms/SCR/DM", {"BRTHYR": "2016", "action": "save"})
    finally:
        event.remove(engine, "before_cursor_execute", readonly)
    assert r.status_code == 503
    assert "read-only" in r.get_data(as_text=True)
    from edc.crf.models import FormRecord
    with app.app_context():
        assert db.session.query(FormRecord).count() == 0

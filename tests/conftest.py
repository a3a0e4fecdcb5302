"""Shared fixtures. The suite runs on SQLite by default, and on PostgreSQL when
EDC_TEST_DATABASE_URL is set (``.ci/run`` runs both)."""
from __future__ import annotations

import base64
import os
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from edc import create_app
from helpers import PASSWORD, ROLES, SITE_DEFS, email_for, login
from edc.extensions import db as _db

def pg_url() -> str | None:
    return os.environ.get("EDC_TEST_DATABASE_URL") or None


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from edc.translations import compile_all
    compile_all()
    inst = tmp_path_factory.mktemp("instance")
    url = pg_url()
    if url:
        _reset_postgres(url)
    else:
        url = "sqlite:///" + str(inst / "test.sqlite")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SESSION_COOKIE_SECURE": False,
        # The shared test users log in with a password only; tests/auth switch the
        # MFA requirement on (edc.config.MFA_REQUIRED_ROLES) where they test it.
        "MFA_REQUIRED_ROLES": [],
    })
    app.instance_path = str(inst)
    # Fast argon2 parameters for the tests (production uses the library defaults).
    import edc.auth.services as auth_services
    auth_services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with app.app_context():
        from edc.cli import upgrade_db
        upgrade_db()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def clean_database(app) -> None:
    with app.app_context():
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                  + " RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))
            conn.execute(text("INSERT INTO audit_head (id, seq, last_hash) "
                              "VALUES (1, 0, :h)"), {"h": "0" * 64})


@pytest.fixture(autouse=True)
def _clean(request):
    yield
    if "app" in request.fixturenames:
        clean_database(request.getfixturevalue("app"))


@pytest.fixture
def ctx(app):
    """An application context for service-level tests (not for test-client requests)."""
    with app.app_context():
        yield
        _db.session.remove()


@pytest.fixture
def db(ctx):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """Sites ES01 and IT01 (and LB01, JO01) with one user per role per site."""
    from edc.audit.services import Actor
    from edc.auth import services as auth
    from edc.sites import services as sites
    actor = Actor(None, "test setup", "test")
    with app.app_context():
        for code, (name, cc, tz) in SITE_DEFS.items():
            sites.add_site(code, name, cc, tz, actor)
        for code in ("ES01", "IT01"):
            for role in ROLES:
                auth.create_user(email_for(role, code), f"{role.title()} {code}", PASSWORD,
                                 actor)
                auth.grant(email_for(role, code), code, role, actor)
        _db.session.remove()
    return SimpleNamespace(email=email_for, password=PASSWORD)


@pytest.fixture
def logged_in(app, world):
    """logged_in(role, site) -> a test client logged in as that user."""
    def make(role, site="ES01"):
        c = app.test_client()
        r = login(c, email_for(role, site))
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return c
    return make

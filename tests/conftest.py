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


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL pass repeats what touches the database; a test marked
    ``no_database`` (static analysis, pure rendering) ran in the SQLite pass already."""
    if pg_url():
        skip = pytest.mark.skip(reason="no database involved: runs in the SQLite pass")
        for item in items:
            if item.get_closest_marker("no_database"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from edc.translations import compile_all
    compile_all(only_stale=True)
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


_WORLD_ROWS: list | None = None  # the world's rows, built once through the services


def _build_world(app) -> None:
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


def _only_audit_head(conn) -> bool:
    from sqlalchemy import func, select
    return all(conn.execute(select(func.count()).select_from(t)).scalar() == 0
               for t in _db.metadata.sorted_tables if t.name != "audit_head")


def _restore_world(app, rows) -> None:
    """The rows the services wrote (sites with their wrapped keys, users, memberships,
    their audit events and the chain head), inserted as they were: the same database the
    services would leave, in a fraction of the time (argon2, zxcvbn, key wrapping, ~40
    audit rows) — the world fixture is used by most tests."""
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table, data in rows:
                if table.name == "audit_head":
                    conn.execute(table.update().values(**{k: v for k, v in data[0].items()
                                                          if k != "id"})
                                 .where(table.c.id == data[0]["id"]))
                else:
                    conn.execute(table.insert(), data)
            if conn.dialect.name == "postgresql":
                for table, data in rows:
                    pk = list(table.primary_key.columns)
                    if len(pk) == 1 and isinstance(data[0].get(pk[0].name), int):
                        conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, :c), :v)"),
                                     {"t": table.name, "c": pk[0].name,
                                      "v": max(r[pk[0].name] for r in data)})


@pytest.fixture
def world(app):
    """Sites ES01 and IT01 (and LB01, JO01) with one user per role per site."""
    global _WORLD_ROWS
    with app.app_context():
        with _db.engine.connect() as conn:
            empty = _only_audit_head(conn)
    if _WORLD_ROWS is not None and empty:
        _restore_world(app, _WORLD_ROWS)
    else:
        _build_world(app)
        if empty:  # built on an empty database: keep its rows for the next tests
            with app.app_context(), _db.engine.connect() as conn:
                _WORLD_ROWS = [(t, [dict(r._mapping) for r in conn.execute(t.select())])
                               for t in _db.metadata.sorted_tables]
                _WORLD_ROWS = [(t, d) for t, d in _WORLD_ROWS if d]
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

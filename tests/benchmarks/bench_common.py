"""What the benchmarks share: a fresh PostgreSQL database of their own, the app with a
logged-in investigator, a statement counter, the machine's CPU steal."""
from __future__ import annotations

PASSWORD = "correct horse battery staple"
INVESTIGATOR = "inv@bench.org"


def fresh_pg(url: str) -> None:
    """Create the database named by ``url`` if missing (as ``postgres`` on the same server)
    and empty it: its public schema dropped and created again."""
    import psycopg
    from sqlalchemy import create_engine, text
    base, name = url.rsplit("/", 1)
    admin = base.replace("postgresql+psycopg", "postgresql") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s",
                            (name,)).fetchone():
            conn.execute(f'create database "{name}"')
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()


def cpu_times() -> tuple[int, int]:
    """(steal, total) clock ticks of all CPUs so far (Linux /proc/stat): on a virtual
    machine, time the hypervisor gave to others while this one had work."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_since(mark: tuple[int, int]) -> str:
    """The share of CPU time stolen by the hypervisor since ``mark`` (:func:`cpu_times`):
    figures measured while it is high are slower than the code is."""
    steal, total = cpu_times()
    d = total - mark[1]
    return f"CPU steal (hypervisor) during the run: {100 * (steal - mark[0]) / d:.0f} %" \
        if d > 0 else "CPU steal: unknown"


def investigator_app(url: str):
    """The app on ``url`` (migrated), site ES01 and its investigator INVESTIGATOR, and a
    test client logged in as them: ``(app, client, CSRF token)``. Password hashing is
    made cheap (a benchmark logs in once; it measures pages and saves, not argon2), MFA
    is not required (the investigator has no authenticator app) and INFO logging is off."""
    import base64
    import logging
    import os

    from argon2 import PasswordHasher

    import edc.auth.services as auth
    from edc import create_app
    from edc.audit.services import Actor
    from edc.cli import upgrade_db
    from edc.sites.services import add_site
    from helpers import csrf_token
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
                      "SESSION_COOKIE_SECURE": False, "MFA_REQUIRED_ROLES": []})
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    logging.disable(logging.INFO)
    with app.app_context():
        upgrade_db()
        a = Actor(None, "bench", "bench")
        add_site("ES01", "Bench site", "ES", "Europe/Madrid", a)
        auth.create_user(INVESTIGATOR, "Bench Investigator", PASSWORD, a)
        auth.grant(INVESTIGATOR, "ES01", "investigator", a)
    c = app.test_client()
    r = c.post("/auth/login", data={"email": INVESTIGATOR, "password": PASSWORD,
                                    "csrf_token": csrf_token(c)})
    assert r.status_code == 302 and "/auth/" not in r.headers["Location"], r.headers
    return app, c, csrf_token(c)


class StatementCounter:
    """The SQL statements an engine (or the app's) sends while active (an executemany
    counts once); ``show``: print them on exit."""

    def __init__(self, engine_or_app, show=False):
        self.engine = engine_or_app
        if hasattr(engine_or_app, "app_context"):
            from edc.extensions import db
            with engine_or_app.app_context():
                self.engine = db.engine
        self.show, self.statements = show, []

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(" ".join(statement.split())[:160])

    def __enter__(self):
        from sqlalchemy import event
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._on)
        if self.show:
            for st in self.statements:
                print("      ", st)

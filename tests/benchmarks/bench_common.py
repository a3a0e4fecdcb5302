"""What the benchmarks share: a fresh PostgreSQL database of their own."""
from __future__ import annotations


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

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

"""Consistent online backups and restores of the database.

SQLite: the sqlite3 online backup API (a consistent copy while the app runs).
PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot) and ``pg_restore``.

The keys are NOT in the database: back up ``instance/`` (master.key, signing.key,
config.py) separately. Without master.key no encrypted identifier can be read again.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 — runs pg_dump/pg_restore with fixed arguments, no shell
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from .errors import ServiceError
from .extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def _sqlite_path(url) -> str:
    if not url.database or url.database == ":memory:":
        raise ServiceError(_l("An in-memory database cannot be backed up."))
    return url.database


def _pg_args(url) -> tuple[list[str], dict]:
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", "-d", url.database]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password  # not on the command line, where ps shows it
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ServiceError(_l("%(tool)s is not installed: install the PostgreSQL client "
                              "tools (apt-get install postgresql-client)."), tool=name)
    return path


def backup(out: str | Path) -> Path:
    out = Path(out)
    if out.exists():
        raise ServiceError(_l("%(file)s exists already: choose a new file."), file=str(out))
    url = make_url(str(db.engine.url.render_as_string(hide_password=False)))
    if url.get_backend_name() == "sqlite":
        src = sqlite3.connect(_sqlite_path(url))
        dst = sqlite3.connect(out)
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
        return out
    args, env = _pg_args(url)
    res = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner",  # nosec B603
                          "--file", str(out), *args], env=env, capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        out.unlink(missing_ok=True)
        raise ServiceError(_l("pg_dump failed: %(err)s"), err=res.stderr.strip()[:300])
    return out


def restore(path: str | Path) -> None:
    """Restore a backup into an EMPTY database (refuses to overwrite data)."""
    path = Path(path)
    if not path.is_file():
        raise ServiceError(_l("No such backup file: %(file)s"), file=str(path))
    with open(path, "rb") as fh:
        magic = fh.read(16)
    url = make_url(str(db.engine.url.render_as_string(hide_password=False)))
    tables = inspect(db.engine).get_table_names()
    if tables:
        raise ServiceError(_l("The target database is not empty: restore only into a new, "
                              "empty database."))
    if url.get_backend_name() == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise ServiceError(_l("This is not a SQLite backup."))
        db.session.remove()
        db.engine.dispose()
        src = sqlite3.connect(path)
        dst = sqlite3.connect(_sqlite_path(url))
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    if not magic.startswith(PG_MAGIC):
        raise ServiceError(_l("This is not a PostgreSQL (pg_dump) backup."))
    db.session.remove()
    db.engine.dispose()
    args, env = _pg_args(url)
    res = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error",  # nosec B603
                          *args, str(path)], env=env, capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise ServiceError(_l("pg_restore failed: %(err)s"), err=res.stderr.strip()[:300])

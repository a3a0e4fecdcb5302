"""``flask --app edc export …``: verify a snapshot directory; ops commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

export_cli = AppGroup("export", help="Snapshots: verify, take, list.")


@export_cli.command("verify")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--public-key", "public_key", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM public key to check the signature with (default: this instance's "
                   "signing key, as downloaded from the app)")
def verify_command(directory: Path, public_key: Path | None):
    """Check every file's size and SHA-256 and the manifest's signature; exit non-zero
    on any difference, naming what is wrong."""
    from ..cli import fail
    from . import manifest as mf
    try:
        if public_key is not None:
            public = mf.load_public_key(public_key.read_bytes())
        else:
            public = mf.load_private_key(current_app.config, current_app.instance_path,
                                         create=False).public_key()
    except Exception as e:  # noqa: BLE001 — one line, no traceback
        fail(f"cannot load the public key: {e}")
    problems, manifest = mf.verify(directory, public)
    for p in problems:
        click.echo(f"TAMPERED {p}", err=True)
    if problems:
        click.echo(f"Error: {directory}: {len(problems)} problem(s); do not use these files",
                   err=True)
        sys.exit(1)
    status = "locked" if manifest.get("locked") else "NOT LOCKED (working export)"
    click.echo(f"{directory}: intact — {len(manifest['files'])} files match the manifest, "
               f"signature valid (key {mf.fingerprint(public)[:16]}…); snapshot "
               f"{manifest.get('snapshot')}, {status}")


@export_cli.command("list")
def list_command():
    """The snapshots and working exports, newest first."""
    from sqlalchemy import select

    from ..extensions import db
    from .models import Snapshot
    for s in db.session.scalars(select(Snapshot).order_by(Snapshot.id.desc())):
        click.echo(f"{s.name:<40} {s.kind:<8} {s.status:<9} "
                   f"{s.as_of:%Y-%m-%dT%H:%M:%SZ} {s.file_count or 0:>4} files")


@export_cli.command("snapshot")
@click.option("--odm-audit", is_flag=True, help="Include AuditRecords in the ODM file")
def snapshot_command(odm_audit: bool):
    """Take the snapshot of the database lock in force, when it has none (e.g. after a
    failure, or for a large trial outside a web request)."""
    from ..cli import cli_actor, fail, friendly
    from . import services

    @friendly
    def run():
        lock = services.active_lock()
        if lock is None:
            fail("the database is not locked")
        snap = services.take_snapshot(cli_actor(), lock, odm_audit=odm_audit,
                                      operator=True)
        click.echo(f"snapshot {snap.name}: {snap.file_count} files in "
                   f"{services.snapshot_dir(snap)}")
    run()


@export_cli.command("rebuild")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def rebuild_command(name: str, directory: Path):
    """Generate the snapshot NAME again into DIRECTORY and compare byte for byte (only
    while its lock is in force)."""
    from sqlalchemy import select

    from ..cli import fail, friendly
    from ..extensions import db
    from . import services
    from .models import Snapshot

    @friendly
    def run():
        snap = db.session.scalars(select(Snapshot).where(Snapshot.name == name)).first()
        if snap is None:
            fail(f"no snapshot {name}")
        differ = services.rebuild(snap, directory)
        for n in differ:
            click.echo(f"DIFFERS {n}", err=True)
        if differ:
            fail(f"{len(differ)} file(s) differ from the stored snapshot")
        click.echo(f"{directory}: byte-identical to snapshot {name}")
    run()


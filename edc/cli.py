"""The ``flask --app edc …`` commands. Thin: they parse arguments and call services.

Every command fails with a one-line ``Error: …`` and exit status 1 on bad input.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import REPO_ROOT
from .audit.services import Actor
from .errors import ServiceError
from .keys import KeyError_


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def friendly(fn):
    """Turn refused operations into a one-line error, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .extensions import db
        try:
            return fn(*args, **kwargs)
        except (ServiceError, KeyError_, ValueError) as e:
            db.session.rollback()
            fail(str(e))
        except Exception as e:  # noqa: BLE001 — the CLI must never print a traceback
            db.session.rollback()
            fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return wrapper


def cli_actor() -> Actor:
    import getpass
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001
        who = "unknown"
    return Actor(None, f"cli:{who}", "cli")


# ---------------------------------------------------------------- init
@click.command("init")
@with_appcontext
@friendly
def init_command():
    """Create instance/ with random keys (mode 0600) and migrate the database."""
    from . import keys
    inst = Path(current_app.instance_path)
    inst.mkdir(parents=True, exist_ok=True)
    os.chmod(inst, 0o700)
    cfg = inst / "config.py"
    if not cfg.exists():
        keys.write_secret_file(cfg, "# Written by `flask --app edc init`. Keep it secret.\n"
                                    f"SECRET_KEY = {os.urandom(32).hex()!r}\n")
        current_app.config.from_pyfile(str(cfg))
        click.echo(f"wrote {cfg}")
    master = inst / (current_app.config.get("MASTER_KEY_FILE") or "master.key")
    if not master.exists() and not current_app.config.get("MASTER_KEY"):
        keys.write_secret_file(master, keys.new_key_b64() + "\n")
        click.echo(f"wrote {master}")
    signing = inst / (current_app.config.get("SIGNING_KEY_FILE") or "signing.key")
    if not signing.exists():
        keys.write_secret_file(signing, keys.new_signing_key_pem())
        click.echo(f"wrote {signing}")
    upgrade_db()
    click.echo("database is at the newest migration")


def upgrade_db() -> None:
    import flask_migrate
    from .audit.services import ensure_head
    flask_migrate.upgrade(directory=str(REPO_ROOT / "migrations"))
    ensure_head()


# ---------------------------------------------------------------- sites
site_cli = AppGroup("site", help="Manage sites.")


@site_cli.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166 two-letter code")
@click.option("--timezone", "tz", required=True, help="Area/City, e.g. Europe/Madrid")
@friendly
def site_add(code, name, country, tz):
    from .sites.services import add_site
    site = add_site(code, name, country, tz, cli_actor())
    click.echo(f"site {site.code} added")


# ---------------------------------------------------------------- users
user_cli = AppGroup("user", help="Manage users and their roles.")


@user_cli.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as printed on signatures")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input")
@click.option("--locale", default=None)
@friendly
def user_add(email, name, password_stdin, locale):
    from .auth.services import create_user
    password = sys.stdin.readline().rstrip("\r\n")
    user = create_user(email, name, password, cli_actor(), locale=locale)
    click.echo(f"user {user.email} added (id {user.id})")


@user_cli.command("grant")
@click.argument("email")
@click.option("--site", "site_code", required=True)
@click.option("--role", required=True)
@friendly
def user_grant(email, site_code, role):
    from .auth.services import grant
    grant(email, site_code, role, cli_actor())
    click.echo(f"{email}: {role} at {site_code.upper()}")


@user_cli.command("revoke")
@click.argument("email")
@click.option("--site", "site_code", required=True)
@click.option("--role", required=True)
@friendly
def user_revoke(email, site_code, role):
    from .auth.services import revoke
    revoke(email, site_code, role, cli_actor())
    click.echo(f"{email}: {role} at {site_code.upper()} revoked")


@user_cli.command("disable")
@click.argument("email")
@friendly
def user_disable(email):
    from .auth.services import disable
    disable(email, cli_actor())
    click.echo(f"{email} disabled")


@user_cli.command("unlock")
@click.argument("email")
@friendly
def user_unlock(email):
    """Lift a lockout (failed log-ins) before it ends by itself."""
    from .auth.services import unlock
    unlock(email, cli_actor())
    click.echo(f"{email} unlocked")


@user_cli.command("reset-password")
@click.argument("email")
@friendly
def user_reset_password(email):
    """Set a temporary password (printed once); the user must change it at log-in."""
    from .auth.services import reset_password
    temp = reset_password(email, cli_actor())
    click.echo(f"{email}: temporary password {temp} (to be changed at the next log-in)")


@user_cli.command("reset-mfa")
@click.argument("email")
@friendly
def user_reset_mfa(email):
    """Remove the user's two-step log-in (lost phone and recovery codes)."""
    from .auth.services import reset_mfa
    reset_mfa(email, cli_actor())
    click.echo(f"{email}: two-step log-in reset")


# ---------------------------------------------------------------- demo
@click.command("demo")
@with_appcontext
@friendly
def demo_command():
    """Load the four trial sites, one user per role per site, and synthetic patients."""
    from .demo import load_demo
    logins = load_demo()
    click.echo("Demo data loaded. Log in at http://127.0.0.1:5000 with:")
    for email, password, what in logins:
        click.echo(f"  {email:<42} {password}   {what}")


# ---------------------------------------------------------------- audit
audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@friendly
def audit_verify():
    """Walk the hash chain; exit non-zero naming the first broken row."""
    from .audit.services import verify
    res = verify()
    if not res.ok:
        fail(f"audit trail broken at row {res.broken_id}: {res.problem}")
    click.echo(f"audit trail intact: {res.count} rows")


# ---------------------------------------------------------------- translations
translate_cli = AppGroup("translate", help="Extract, update and compile the catalogues.")


@translate_cli.command("extract")
@friendly
def translate_extract():
    from .translations import extract
    n = extract()
    click.echo(f"translations/messages.pot: {n} messages")


@translate_cli.command("update")
@friendly
def translate_update():
    from .translations import update
    update()
    click.echo("catalogues updated")


@translate_cli.command("compile")
@friendly
def translate_compile():
    from .translations import compile_all
    compile_all()
    click.echo("catalogues compiled")


# ---------------------------------------------------------------- backup
@click.command("backup")
@click.option("-o", "--output", required=True, help="New file to write the backup to")
@with_appcontext
@friendly
def backup_command(output):
    """Consistent online backup of the database (SQLite backup API, or pg_dump)."""
    from .backup import backup
    path = backup(output)
    click.echo(f"backup written to {path} — back up instance/ (the keys) separately")


@click.command("restore")
@click.argument("file")
@with_appcontext
@friendly
def restore_command(file):
    """Restore a backup into an empty database."""
    from .backup import restore
    restore(file)
    click.echo("restored; run `flask --app edc audit verify` to check the audit trail")


# ---------------------------------------------------------------- forms
forms_cli = AppGroup("forms", help="The eCRF definitions in forms/.")


@forms_cli.command("check")
@friendly
def forms_check():
    """Validate every definition (the app already refused to start on a broken one), and
    refuse a content change without a version bump once records exist."""
    from .crf.catalog import catalog, version_problems
    from .crf.definitions import DefinitionError, load_catalog
    try:
        load_catalog(current_app.config["FORMS_DIR"])  # re-read: files may have changed
    except DefinitionError as e:
        for p in e.problems:
            click.echo(p, err=True)
        sys.exit(1)
    problems = version_problems()
    for p in problems:
        click.echo(p, err=True)
    if problems:
        sys.exit(1)
    cat = catalog()
    click.echo(f"{len(cat.forms)} forms and {len(cat.schedule.visits)} visits are valid")


def register_cli(app: Flask) -> None:
    for cmd in (init_command, site_cli, user_cli, demo_command, audit_cli, translate_cli,
                forms_cli, backup_command, restore_command):
        app.cli.add_command(cmd)
    from .alerts.cli import mail_cli
    app.cli.add_command(mail_cli)
    from .exports.cli import export_cli
    app.cli.add_command(export_cli)
    from .reports.cli import pdf_cli
    app.cli.add_command(pdf_cli)

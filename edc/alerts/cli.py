"""``flask --app edc mail …``: send the outbox (run ``mail send`` from cron)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..cli import fail, friendly

mail_cli = AppGroup("mail", help="The outgoing mail queue (safety alerts).")


@mail_cli.command("send")
@click.option("--all", "include_future", is_flag=True,
              help="Also send mails waiting for their next retry.")
@click.option("--limit", default=200, show_default=True, help="At most this many mails.")
@friendly
def mail_send(include_future, limit):
    """Send the pending mails whose time has come; failed attempts are retried later."""
    from .mail import counts, send_due
    res = send_due(limit=limit, include_future=include_future)
    if res.skipped_reason:
        fail(res.skipped_reason)
    left = counts()
    click.echo(f"sent {res.sent}, to retry {res.retry}, failed {res.failed}; "
               f"pending {left['pending']}, failed in total {left['failed']}")
    if res.retry or res.failed:
        click.echo("some mails could not be sent: see `flask --app edc mail status`",
                   err=True)


@mail_cli.command("status")
@friendly
def mail_status():
    """Count the mails of the outbox by state."""
    from .mail import counts
    c = counts()
    click.echo(f"pending {c['pending']}, sent {c['sent']}, failed {c['failed']}")


@mail_cli.command("retry")
@friendly
def mail_retry():
    """Requeue the mails that failed for good, for the next ``mail send``."""
    from .mail import requeue_failed
    click.echo(f"{requeue_failed()} failed mails requeued")

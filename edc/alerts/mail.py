"""The mail outbox: mails are rows first (written in the transaction of the event), and
``flask --app edc mail send`` (cron) sends the due ones through SMTP.

Nothing is lost when the SMTP server is down: the mail stays pending and is retried with
a growing delay. A mail the server refuses for good (a 5xx reply) is retried up to
MAIL_MAX_ATTEMPTS times, then kept as ``failed`` (``mail retry`` requeues it).
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import func, select, update

from ..db import utcnow
from ..extensions import db
from .models import OutboxMail


@dataclass
class SendResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped_reason: str | None = None


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.created_at)
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(f"edc-outbox-{mail.id}", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body)
    return msg


def connect(cfg) -> smtplib.SMTP:
    host, port, timeout = cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), cfg["SMTP_TIMEOUT"]
    security = (cfg.get("SMTP_SECURITY") or "none").lower()
    if security == "ssl":
        conn = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(host, port, timeout=timeout)
        if security == "starttls":
            conn.starttls(context=ssl.create_default_context())
    if cfg.get("SMTP_USERNAME"):
        conn.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
    return conn


def _delay(cfg, attempts: int) -> timedelta:
    minutes = cfg["MAIL_RETRY_MINUTES"] * 2 ** max(0, attempts - 1)
    return timedelta(minutes=min(minutes, cfg["MAIL_RETRY_MAX_MINUTES"]))


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def send_due(*, now=None, limit: int = 200, include_future: bool = False) -> SendResult:
    """Send the pending mails whose time has come (all pending ones with
    ``include_future``). Each mail is claimed and updated in its own transaction."""
    cfg = current_app.config
    res = SendResult()
    if not cfg.get("SMTP_HOST"):
        res.skipped_reason = "SMTP_HOST is not set: mails stay queued"
        return res
    now = now or utcnow()
    q = select(OutboxMail.id).where(OutboxMail.status == "pending")
    if not include_future:
        q = q.where(OutboxMail.next_attempt_at <= now)
    ids = list(db.session.scalars(q.order_by(OutboxMail.id).limit(limit)))
    db.session.commit()
    conn = None
    try:
        for mail_id in ids:
            mail = db.session.scalars(
                select(OutboxMail).where(OutboxMail.id == mail_id,
                                         OutboxMail.status == "pending")
                .with_for_update(skip_locked=True)).first()
            if mail is None:  # sent meanwhile by another run
                db.session.rollback()
                continue
            mail.attempts += 1
            mail.last_attempt_at = utcnow()
            try:
                if conn is None:
                    conn = connect(cfg)
                conn.send_message(build_message(mail, cfg["MAIL_FROM"]))
            except (smtplib.SMTPException, OSError) as e:
                mail.last_error = f"{type(e).__name__}: {e}"[:2000]
                if _permanent(e) and mail.attempts >= cfg["MAIL_MAX_ATTEMPTS"]:
                    mail.status = "failed"
                    res.failed += 1
                else:
                    mail.next_attempt_at = utcnow() + _delay(cfg, mail.attempts)
                    res.retry += 1
                db.session.commit()
                if not _permanent(e):
                    # the server is unreachable or broke the connection: stop this run,
                    # the remaining mails keep their turn for the next one
                    _close(conn)
                    conn = None
                    break
                continue
            mail.status, mail.sent_at, mail.last_error = "sent", utcnow(), None
            db.session.commit()
            res.sent += 1
    finally:
        _close(conn)
        db.session.rollback()
    return res


def _close(conn) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        try:
            conn.close()
        except OSError:
            pass


def requeue_failed() -> int:
    n = db.session.execute(update(OutboxMail).where(OutboxMail.status == "failed")
                           .values(status="pending", attempts=0,
                                   next_attempt_at=utcnow())).rowcount
    db.session.commit()
    return n


def counts() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMail.status, func.count(OutboxMail.id))
                              .group_by(OutboxMail.status)).all()
    out = {"pending": 0, "sent": 0, "failed": 0}
    out.update(dict(rows))
    return out

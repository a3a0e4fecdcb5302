"""The outbox: mails are sent by `flask --app edc mail send` through SMTP (a local
aiosmtpd server on 127.0.0.1 here), retried on failure, never lost."""
import email
import socket
from datetime import timedelta

import pytest
from helpers import register_patient
from mon_support import grant, save
from sqlalchemy import select

from edc.alerts import mail
from edc.alerts.models import OutboxMail
from edc.db import utcnow
from edc.extensions import db as _db

AE = {"AETERM": "Sepsis", "AECRSIC": "no", "AESTDAT": "2026-01-20", "AEONGO": "true",
      "AETOXGR": "4", "AESER": "true", "AESCRIT": "life_threatening", "AESI": "false",
      "AEAWDAT": "2026-01-21"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self, refuse=None):
        self.messages, self.refuse = [], refuse or set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos[:],
                              email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


@pytest.fixture
def smtp(app, monkeypatch):
    """Start a local SMTP server on demand: smtp.start(refuse=set()) -> Recorder."""
    from aiosmtpd.controller import Controller
    port = free_port()
    for k, v in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none",
                 "SMTP_TIMEOUT": 5, "MAIL_FROM": "edc@test.example.org",
                 "MAIL_MAX_ATTEMPTS": 3, "PUBLIC_URL": "https://edc.example.org"}.items():
        monkeypatch.setitem(app.config, k, v)
    started = []

    class Server:
        def start(self, refuse=None):
            rec = Recorder(refuse)
            c = Controller(rec, hostname="127.0.0.1", port=port)
            c.start()
            started.append(c)
            return rec

        def stop(self):
            while started:
                started.pop().stop()

    s = Server()
    s.port = port
    yield s
    s.stop()


@pytest.fixture
def queued(app, world):
    """One serious adverse event saved: two mails queued (investigator, safety user)."""
    grant(app, "safety", "ES01", email="safety.sponsor@test.example.org")
    pid = register_patient(app)
    with app.app_context():
        assert save(pid, "LOG", "AE", AE, complete=False).saved
        _db.session.remove()
    return pid


def _mails():
    return list(_db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_mail_send_command_delivers_the_outbox(app, smtp, queued):
    rec = smtp.start()
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert r.exit_code == 0, r.output
    assert "sent 2" in r.output
    got = sorted(to[0] for to, _msg in rec.messages)
    assert got == ["investigator.es01@test.example.org", "safety.sponsor@test.example.org"]
    msg = rec.messages[0][1]
    assert queued in msg["Subject"] and msg["From"] == "edc@test.example.org"
    assert "https://edc.example.org/alerts/" in msg.get_payload(decode=True).decode()
    with app.app_context():
        assert {m.status for m in _mails()} == {"sent"}
        assert all(m.sent_at is not None and m.attempts == 1 for m in _mails())
    # nothing is sent twice
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert "sent 0" in r.output and len(rec.messages) == 2


def test_server_down_nothing_lost_then_retried(app, smtp, queued):
    # no server listening: the mails stay pending, with a later retry time
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert r.exit_code == 0 and "to retry 1" in r.output, r.output
    with app.app_context():
        ms = _mails()
        assert [m.status for m in ms] == ["pending", "pending"]
        assert ms[0].attempts == 1 and ms[0].last_error and ms[0].next_attempt_at > utcnow()
        assert ms[1].attempts == 0  # the run stopped at the first connection failure
    rec = smtp.start()
    # the first mail waits for its retry time; the second goes now
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert "sent 1" in r.output and len(rec.messages) == 1
    with app.app_context():
        m = _mails()[0]
        m.next_attempt_at = utcnow() - timedelta(seconds=1)
        _db.session.commit()
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert "sent 1" in r.output and len(rec.messages) == 2
    with app.app_context():
        assert [m.status for m in _mails()] == ["sent", "sent"]
        assert _mails()[0].attempts == 2 and _mails()[0].last_error is None


def test_refused_recipient_fails_after_max_attempts_then_requeued(app, smtp, queued):
    rec = smtp.start(refuse={"safety.sponsor@test.example.org"})
    with app.app_context():
        for _ in range(3):  # MAIL_MAX_ATTEMPTS
            mail.send_due(include_future=True)
        ms = {m.to_addr: m for m in _mails()}
        assert ms["investigator.es01@test.example.org"].status == "sent"
        bad = ms["safety.sponsor@test.example.org"]
        assert bad.status == "failed" and bad.attempts == 3 and "550" in bad.last_error
        assert mail.counts() == {"pending": 0, "sent": 1, "failed": 1}
    r = app.test_cli_runner().invoke(args=["mail", "status"])
    assert "failed 1" in r.output
    r = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert "1 failed mails requeued" in r.output
    rec.refuse.clear()
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert "sent 1" in r.output
    assert len(rec.messages) == 2


def test_no_smtp_host_keeps_mails_queued(app, queued, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    r = app.test_cli_runner().invoke(args=["mail", "send"])
    assert r.exit_code == 1 and "SMTP_HOST" in r.output
    with app.app_context():
        assert {m.status for m in _mails()} == {"pending"}


def test_retry_delay_grows_and_is_capped(app):
    cfg = {"MAIL_RETRY_MINUTES": 1, "MAIL_RETRY_MAX_MINUTES": 60}
    assert [mail._delay(cfg, n).total_seconds() / 60 for n in (1, 2, 3, 7, 20)] == \
        [1, 2, 4, 60, 60]

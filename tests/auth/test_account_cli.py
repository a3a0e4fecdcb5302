"""The account commands: unlock, reset-password, reset-mfa (audited, one-line errors)."""
import re

from helpers import email_for, login

from edc.audit.models import AuditEvent
from edc.extensions import db as _db


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_account_commands(app, client, world):
    email = email_for("monitor", "ES01")
    r = run(app, "user", "unlock", email)
    assert r.exit_code == 1 and r.output.strip() == f"Error: {email} is not locked."
    for _ in range(5):
        login(client, email, "not the password!!")
    r = run(app, "user", "unlock", email)
    assert r.exit_code == 0, r.output
    r = run(app, "user", "reset-password", email)
    assert r.exit_code == 0, r.output
    temp = re.search(r"temporary password (\S+)", r.output).group(1)
    assert login(client, email, temp).status_code == 302
    assert client.get("/").headers["Location"] == "/auth/password"
    r = run(app, "user", "reset-mfa", email)
    assert r.exit_code == 1 and "has no two-step log-in" in r.output
    assert run(app, "user", "reset-mfa", "nobody@nowhere.org").exit_code == 1
    with app.app_context():
        acts = [e.action for e in _db.session.query(AuditEvent)]
        assert "user.unlock" in acts and "password.reset" in acts
        _db.session.remove()

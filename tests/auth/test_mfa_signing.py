"""E-signatures ask the second factor again of a user with MFA (21 CFR 11.200(a)(1)),
through edc.auth.mfa.verify_second_factor."""
import time
from types import SimpleNamespace

import pyotp
import pytest
from helpers import PASSWORD, email_for, login, post, register_patient
from mon_support import APH, save
from sqlalchemy import func, select

from edc.audit.models import AuditEvent
from edc.auth import mfa
from edc.extensions import db as _db
from edc.signing.models import Signature

NOW = (int(time.time()) // 30) * 30 + 15


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(mfa, "time", SimpleNamespace(time=lambda: NOW))


def code_at(secret, offset=0):
    return pyotp.TOTP(secret).generate_otp(NOW // 30 + offset)


@pytest.fixture
def signer(app, world):
    """An investigator enrolled in MFA, logged in with both factors, and a patient whose
    apheresis visit is complete."""
    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    email = email_for("investigator", "ES01")
    with app.app_context():
        user = get_user_by_email(email)
        secret = mfa.start_enrolment(user, Actor.of(user))
        codes = mfa.confirm_enrolment(user, code_at(secret, -1), Actor.of(user))
        _db.session.remove()
    pid = register_patient(app)
    with app.app_context():
        assert save(pid, "APH", "APH", APH).saved
        _db.session.remove()
    c = app.test_client()
    login(c, email)
    assert post(c, "/auth/login/code", {"code": code_at(secret, 0)}).status_code == 302
    return SimpleNamespace(client=c, secret=secret, codes=codes, pid=pid)


def n_signatures(app) -> int:
    with app.app_context():
        n = _db.session.scalar(select(func.count(Signature.id)))
        _db.session.remove()
    return n


def refusals(app) -> list[str]:
    with app.app_context():
        out = [e.reason for e in _db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "signature.refused").order_by(AuditEvent.id))]
        _db.session.remove()
    return out


def test_sign_form_asks_the_code(app, signer):
    url = f"/signing/{signer.pid}/sign/APH"
    assert 'name="code"' in signer.client.get(url).get_data(as_text=True)


def test_signing_needs_password_and_code(app, signer):
    url = f"/signing/{signer.pid}/sign/APH"
    c = signer.client
    r = post(c, url, {"password": PASSWORD})
    assert r.status_code == 422 and "The code is wrong" in r.get_data(as_text=True)
    r = post(c, url, {"password": PASSWORD, "code": "000000"})
    assert r.status_code == 422
    r = post(c, url, {"password": PASSWORD, "code": code_at(signer.secret, 0)})  # replay
    assert r.status_code == 422
    assert n_signatures(app) == 0
    assert refusals(app) == ["wrong second factor"] * 3
    r = post(c, url, {"password": "wrong password!!", "code": code_at(signer.secret, 1)})
    assert r.status_code == 422 and "The password is wrong" in r.get_data(as_text=True)
    r = post(c, url, {"password": PASSWORD, "code": code_at(signer.secret, 1)})
    assert r.status_code == 302
    assert n_signatures(app) == 1


def test_signing_with_a_recovery_code_consumes_it(app, signer):
    url = f"/signing/{signer.pid}/sign/APH"
    r = post(signer.client, url, {"password": PASSWORD, "code": signer.codes[0]})
    assert r.status_code == 302 and n_signatures(app) == 1
    with app.app_context():
        from edc.auth.services import get_user_by_email
        assert mfa.remaining_codes(get_user_by_email(email_for("investigator", "ES01"))) == 9
        _db.session.remove()


def test_signing_codes_are_rate_limited(app, signer):
    app.config["RATE_LIMITS"] = {**app.config["RATE_LIMITS"], "mfa.account": (2, 900)}
    try:
        url = f"/signing/{signer.pid}/sign/APH"
        for bad in ("111111", "222222"):
            assert post(signer.client, url, {"password": PASSWORD,
                                             "code": bad}).status_code == 422
        r = post(signer.client, url, {"password": PASSWORD,
                                      "code": code_at(signer.secret, 1)})
        assert r.status_code == 429
        assert "Too many failed attempts" in r.get_data(as_text=True)
        assert n_signatures(app) == 0
    finally:
        import edc.config
        app.config["RATE_LIMITS"] = dict(edc.config.RATE_LIMITS)

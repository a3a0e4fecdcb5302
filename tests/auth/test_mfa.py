"""Multi-factor authentication: enrolment with a QR code, TOTP and recovery codes at
log-in, the requirement for the roles that sign, lock or export, encryption of the
secret, and verify_second_factor for e-signatures."""
import re
import time

import pyotp
import pytest
from helpers import PASSWORD, email_for, login, post

from edc.audit.models import AuditEvent
from edc.auth import mfa
from edc.auth.models import MfaRecoveryCode, User
from edc.extensions import db as _db


NOW = (int(time.time()) // 30) * 30 + 15  # mid time step: no flaky step change


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    from types import SimpleNamespace
    monkeypatch.setattr(mfa, "time", SimpleNamespace(time=lambda: NOW))


def code_at(secret: str, offset: int = 0) -> str:
    """The TOTP code of the time step now + offset (−1, 0 and 1 are accepted)."""
    return pyotp.TOTP(secret).generate_otp(NOW // 30 + offset)


def enrol(app, email) -> tuple[str, list[str]]:
    """Enrol a user through the services; returns (secret, recovery codes)."""
    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    with app.app_context():
        user = get_user_by_email(email)
        actor = Actor.of(user, "test")
        secret = mfa.start_enrolment(user, actor)
        codes = mfa.confirm_enrolment(user, code_at(secret, -1), actor)
        _db.session.remove()
    return secret, codes


def actions(app) -> list[str]:
    with app.app_context():
        out = [e.action for e in _db.session.query(AuditEvent).order_by(AuditEvent.id)]
        _db.session.remove()
    return out


def user_of(email) -> User:
    return _db.session.query(User).filter_by(email=email).one()


@pytest.fixture
def require_mfa(app):
    """The production setting: MFA required for investigator, data manager, statistician."""
    import edc.config
    app.config["MFA_REQUIRED_ROLES"] = list(edc.config.MFA_REQUIRED_ROLES)
    yield
    app.config["MFA_REQUIRED_ROLES"] = []


def mfa_login(client, email, code, password=PASSWORD):
    r = login(client, email, password)
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login/code"), r
    return post(client, "/auth/login/code", {"code": code})


def test_settings_documented_defaults():
    import edc.config
    assert edc.config.MFA_REQUIRED_ROLES == ["investigator", "data_manager", "statistician"]
    assert edc.config.MFA_OPTIONAL is True
    import inspect
    assert "MFA_REQUIRED_ROLES" in inspect.getsource(edc.config)


def test_enrol_on_the_web_then_log_in_with_totp(app, logged_in):
    email = email_for("monitor", "ES01")
    c = logged_in("monitor")
    page = c.get("/auth/mfa").get_data(as_text=True)
    assert 'src="/auth/mfa/qr.svg"' in page
    assert " style=" not in page and "<script" not in page
    secret = re.search(r'<bdi dir="ltr" class="pid">([A-Z2-7 ]+)</bdi>', page).group(1)
    secret = secret.replace(" ", "")
    assert len(secret) == 32
    # the QR code is an SVG image of the otpauth URI, without inline style or script
    r = c.get("/auth/mfa/qr.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert "<svg" in svg and " style=" not in svg and "<script" not in svg
    # the secret is stored encrypted, never in clear
    with app.app_context():
        user = user_of(email)
        assert user.mfa_secret_enc is not None and secret.encode() not in user.mfa_secret_enc
        assert mfa.pending_secret(user) == secret
        _db.session.remove()
    # a wrong code does not enrol
    r = post(c, "/auth/mfa/confirm", {"code": "000000"}, follow_redirects=True)
    assert "The code is wrong" in r.get_data(as_text=True)
    with app.app_context():
        assert not mfa.is_enrolled(user_of(email))
        _db.session.remove()
    # the right code enrols and shows ten recovery codes once
    r = post(c, "/auth/mfa/confirm", {"code": code_at(secret, -1)})
    html = r.get_data(as_text=True)
    codes = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", html)
    assert r.status_code == 200 and len(codes) == 10
    with app.app_context():
        user = user_of(email)
        assert mfa.is_enrolled(user)
        stored = _db.session.query(MfaRecoveryCode).filter_by(user_id=user.id).all()
        assert len(stored) == 10
        assert all(s.code_hash.startswith("$argon2id$") for s in stored)
        assert not any(c.replace("-", "") in s.code_hash for c in codes for s in stored)
        _db.session.remove()
    assert "mfa.enrol" in actions(app)
    # the page now shows the status, not a QR code
    assert "qr.svg" not in c.get("/auth/mfa").get_data(as_text=True)
    assert c.get("/auth/mfa/qr.svg").status_code == 404

    # next log-in: the password alone is not enough
    post(c, "/auth/logout")
    r = login(c, email)
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login/code")
    assert c.get("/").status_code == 302
    assert "authenticator app" in c.get("/auth/login/code").get_data(as_text=True)
    r = post(c, "/auth/login/code", {"code": code_at(secret, 0)})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert c.get("/").status_code == 200
    assert actions(app)[-2:] == ["login.password_ok", "login.success"]


def test_totp_code_accepted_once(app, client, world):
    email = email_for("coordinator", "ES01")
    secret, _ = enrol(app, email)
    code = code_at(secret, 0)
    assert mfa_login(client, email, code).status_code == 302
    post(client, "/auth/logout")
    r = mfa_login(client, email, code)  # replayed
    assert r.status_code == 401
    assert "The code is wrong" in r.get_data(as_text=True)


def test_recovery_code_works_once(app, client, world):
    email = email_for("coordinator", "ES01")
    _, codes = enrol(app, email)
    assert mfa_login(client, email, codes[3].lower()).status_code == 302  # any case
    assert client.get("/").status_code == 200
    post(client, "/auth/logout")
    assert mfa_login(client, email, codes[3]).status_code == 401
    assert mfa_login(client, email, codes[4].replace("-", " ")).status_code == 302
    assert "mfa.recovery_code_used" in actions(app)
    with app.app_context():
        assert mfa.remaining_codes(user_of(email)) == 8
        _db.session.remove()


def test_wrong_codes_count_towards_the_lockout(app, client, world):
    email = email_for("coordinator", "ES01")
    secret, _ = enrol(app, email)
    for _ in range(4):
        assert mfa_login(client, email, "123456").status_code == 401
    # a correct password does not reset the count: only a complete log-in does
    r = mfa_login(client, email, "654321")
    assert r.status_code == 401
    acts = actions(app)
    assert acts.count("login.failure") == 5 and "user.lockout" in acts
    # locked: the right password and code are refused now
    assert login(client, email).status_code == 401


def test_pending_second_step_expires(app, client, world):
    email = email_for("coordinator", "ES01")
    secret, _ = enrol(app, email)
    login(client, email)
    with client.session_transaction() as s:
        s["mfa_pending"][2] -= 6 * 60
        s.modified = True
    r = post(client, "/auth/login/code", {"code": code_at(secret)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login")
    assert client.get("/").status_code == 302


def test_second_step_needs_a_password_first(client, world):
    r = client.get("/auth/login/code")
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login")


def test_required_role_reaches_only_enrolment_until_done(app, logged_in, require_mfa):
    c = logged_in("investigator")
    for url in ("/", "/patients/", "/auth/password"):
        r = c.get(url)
        assert r.status_code == 302 and r.headers["Location"] == "/auth/mfa", url
    page = c.get("/auth/mfa").get_data(as_text=True)
    assert "Your role requires two-step log-in" in page
    assert c.get("/auth/mfa/qr.svg").status_code == 200
    # enrol
    with app.app_context():
        secret = mfa.pending_secret(user_of(email_for("investigator", "ES01")))
        _db.session.remove()
    r = post(c, "/auth/mfa/confirm", {"code": code_at(secret, -1)})
    assert r.status_code == 200
    assert c.get("/").status_code == 200
    # roles that do not require MFA are not held back
    assert logged_in("coordinator").get("/").status_code == 200
    assert logged_in("monitor").get("/").status_code == 200


def test_required_mfa_cannot_be_turned_off_optional_can(app, logged_in, require_mfa):
    enrol(app, email_for("data_manager", "ES01"))
    secret, _ = enrol(app, email_for("monitor", "ES01"))
    with app.app_context():
        dm = user_of(email_for("data_manager", "ES01"))
        from edc.audit.services import SYSTEM
        from edc.errors import Forbidden
        with pytest.raises(Forbidden):
            mfa.turn_off(dm, PASSWORD, "000000", SYSTEM)
        _db.session.remove()
    c = app.test_client()
    mfa_login(c, email_for("monitor", "ES01"), code_at(secret, 0))
    page = c.get("/auth/mfa").get_data(as_text=True)
    assert "Turn two-step log-in off" in page
    r = post(c, "/auth/mfa/off", {"off-password": "wrong password!!", "off-code":
                                  code_at(secret, 1)}, follow_redirects=True)
    assert "stays on" in r.get_data(as_text=True)
    r = post(c, "/auth/mfa/off", {"off-password": PASSWORD, "off-code": code_at(secret, 1)},
             follow_redirects=True)
    assert "turned off" in r.get_data(as_text=True)
    acts = actions(app)
    assert "mfa.disable_refused" in acts and "mfa.disable" in acts
    post(c, "/auth/logout")
    assert login(c, email_for("monitor", "ES01")).headers["Location"] == "/"


def test_mfa_not_offered_when_not_optional(app, logged_in):
    app.config["MFA_OPTIONAL"] = False
    try:
        c = logged_in("monitor")
        page = c.get("/auth/mfa").get_data(as_text=True)
        assert "not offered" in page and "qr.svg" not in page
    finally:
        app.config["MFA_OPTIONAL"] = True


def test_renew_recovery_codes(app, client, world):
    email = email_for("monitor", "ES01")
    secret, old = enrol(app, email)
    mfa_login(client, email, code_at(secret, 0))
    r = post(client, "/auth/mfa/recovery-codes", {"renew-code": old[0]})
    new = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}",
                     r.get_data(as_text=True))
    assert len(new) == 10
    post(client, "/auth/logout")
    assert mfa_login(client, email, old[1]).status_code == 401
    assert mfa_login(client, email, new[0]).status_code == 302
    assert "mfa.recovery_codes_renewed" in actions(app)


def test_verify_second_factor(app, world):
    from edc.auth.services import get_user_by_email
    email = email_for("investigator", "ES01")
    with app.app_context():
        assert mfa.verify_second_factor(get_user_by_email(email), "123456") is False
        _db.session.remove()
    secret, codes = enrol(app, email)
    with app.app_context():
        user = get_user_by_email(email)
        assert mfa.verify_second_factor(user, "") is False
        assert mfa.verify_second_factor(user, "12345x") is False
        assert mfa.verify_second_factor(user, code_at(secret, 0)) is True
        assert mfa.verify_second_factor(user, code_at(secret, 0)) is False  # replay
        assert mfa.verify_second_factor(user, codes[0]) is True
        _db.session.commit()
        assert mfa.verify_second_factor(user, codes[0]) is False
        _db.session.remove()


def test_secret_is_bound_to_its_user(app, world):
    from cryptography.exceptions import InvalidTag
    secret, _ = enrol(app, email_for("investigator", "ES01"))
    with app.app_context():
        a = user_of(email_for("investigator", "ES01"))
        b = user_of(email_for("coordinator", "ES01"))
        b.mfa_secret_enc = a.mfa_secret_enc
        assert mfa._decrypt(a) == secret
        with pytest.raises(InvalidTag):
            mfa._decrypt(b)
        _db.session.rollback()
        _db.session.remove()

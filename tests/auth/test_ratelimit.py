"""Rate limits on log-in and second-factor attempts, per IP and per account, counted in
the database; a blocked attempt gets a translated 429 page and is audited."""
from datetime import timedelta

import pytest
from helpers import PASSWORD, email_for, login, post

from edc.audit.models import AuditEvent
from edc.auth import ratelimit
from edc.auth.models import RateLimitHit
from edc.db import utcnow
from edc.extensions import db as _db


@pytest.fixture
def limits(app):
    """Set some limits for one test: limits(**{"login.ip": (3, 900)})."""
    saved = dict(app.config["RATE_LIMITS"])
    saved_max = app.config["LOGIN_MAX_FAILURES"]

    def set_(max_failures=None, **kinds):
        app.config["RATE_LIMITS"] = {**saved, **{k.replace("_", "."): v
                                                 for k, v in kinds.items()}}
        if max_failures:
            app.config["LOGIN_MAX_FAILURES"] = max_failures
    yield set_
    app.config["RATE_LIMITS"] = saved
    app.config["LOGIN_MAX_FAILURES"] = saved_max


def audited(app, action) -> list[AuditEvent]:
    with app.app_context():
        out = _db.session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()
        _db.session.expunge_all()
        _db.session.remove()
    return out


def test_default_limits_are_configured(app):
    import edc.config
    for kind in ("login.ip", "login.account", "mfa.ip", "mfa.account", "api.ip"):
        attempts, window = edc.config.RATE_LIMITS[kind]
        assert attempts > 0 and window > 0


def test_hit_blocked_window_and_clear(app, ctx, limits):
    limits(api_ip=(3, 60))
    ip = "203.0.113.9"
    assert not ratelimit.blocked("api.ip", ip) and ratelimit.retry_after("api.ip", ip) == 0
    for _ in range(3):
        ratelimit.hit("api.ip", ip)
    assert ratelimit.blocked("api.ip", ip)
    assert not ratelimit.blocked("api.ip", "203.0.113.10")  # per key
    assert 0 < ratelimit.retry_after("api.ip", ip) <= 60
    # the key is stored hashed
    assert all(ip not in h.key_hash for h in _db.session.query(RateLimitHit))
    # counts live in the database: another session (another worker) sees them
    _db.session.remove()
    assert ratelimit.blocked("api.ip", ip)
    # failures leave the window
    for h in _db.session.query(RateLimitHit):
        h.at = utcnow() - timedelta(seconds=61)
    _db.session.commit()
    assert not ratelimit.blocked("api.ip", ip)
    ratelimit.hit("api.ip", ip)  # purges the expired rows of the kind
    assert _db.session.query(RateLimitHit).count() == 1
    ratelimit.clear("api.ip", ip)
    assert ratelimit.count("api.ip", ip) == 0
    with pytest.raises(ValueError):
        ratelimit.blocked("no.such.kind", ip)


def test_login_limited_per_ip(app, client, world, limits):
    limits(login_ip=(3, 900))
    for i in range(3):
        assert login(client, f"nobody{i}@nowhere.org", "whatever it is!").status_code == 401
    # blocked: even the right password is not checked
    r = login(client, email_for("investigator", "ES01"))
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in r.get_data(as_text=True)
    # translated
    r = post(client, "/auth/login", {"email": email_for("investigator", "ES01"),
                                     "password": PASSWORD},
             headers={"Accept-Language": "es"})
    assert r.status_code == 429 and 'lang="es"' in r.get_data(as_text=True)
    assert audited(app, "ratelimit.blocked")[0].reason == "login.ip"
    # another address is not affected
    other = app.test_client()
    r = post(other, "/auth/login", {"email": email_for("investigator", "ES01"),
                                    "password": PASSWORD},
             environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert r.status_code == 302


def test_login_limited_per_account_across_addresses(app, client, world, limits):
    limits(login_account=(3, 900), max_failures=100)
    email = email_for("monitor", "ES01")
    for i in range(3):
        r = post(app.test_client(), "/auth/login", {"email": email, "password": "nope nope"},
                 environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"})
        assert r.status_code == 401
    r = post(client, "/auth/login", {"email": email, "password": PASSWORD},
             environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert r.status_code == 429
    ev = audited(app, "ratelimit.blocked")[0]
    assert ev.reason == "login.account" and ev.object_type == "user"
    # another account from the same addresses is fine
    assert login(client, email_for("coordinator", "ES01")).status_code == 302


def test_lockout_still_applies(app, client, world):
    email = email_for("monitor", "ES01")
    for _ in range(5):
        assert login(client, email, "not the password!!").status_code == 401
    assert login(client, email).status_code == 401  # locked, not yet rate-limited


def test_successful_login_clears_the_account_count(app, client, world, limits):
    limits(login_account=(3, 900))
    email = email_for("monitor", "ES01")
    login(client, email, "wrong one here!")
    login(client, email, "wrong two here!")
    assert login(client, email).status_code == 302
    post(client, "/auth/logout")
    login(client, email, "wrong three here")
    login(client, email, "wrong four here!")
    assert login(client, email).status_code == 302


def test_second_factor_limited(app, client, world, limits):
    import pyotp

    from edc.audit.services import Actor
    from edc.auth import mfa
    from edc.auth.services import get_user_by_email
    limits(mfa_ip=(2, 900), max_failures=100)
    email = email_for("coordinator", "ES01")
    with app.app_context():
        user = get_user_by_email(email)
        secret = mfa.start_enrolment(user, Actor.of(user))
        # the current code: still valid if the time step changes before the check
        mfa.confirm_enrolment(user, pyotp.TOTP(secret).now(), Actor.of(user))
        _db.session.remove()
    login(client, email)
    assert post(client, "/auth/login/code", {"code": "111111"}).status_code == 401
    assert post(client, "/auth/login/code", {"code": "222222"}).status_code == 401
    r = post(client, "/auth/login/code", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 429
    assert audited(app, "ratelimit.blocked")[0].reason == "mfa.ip"
    # per account too (mfa.account), from any address
    limits(mfa_account=(2, 900), max_failures=100)
    c2 = app.test_client()
    env = {"REMOTE_ADDR": "198.51.100.50"}
    post(c2, "/auth/login", {"email": email, "password": PASSWORD}, environ_base=env)
    r = post(c2, "/auth/login/code", {"code": "333333"}, environ_base=env)
    assert r.status_code == 429
    assert audited(app, "ratelimit.blocked")[-1].reason == "mfa.account"

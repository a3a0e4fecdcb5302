"""Who may use an API token, and how often: tokens of disabled users and of users who
must change their password are refused; bad tokens are limited per IP address, failures
of an account's tokens per account, and every account's requests by a quota — each with a
JSON 429 and Retry-After, audited like the log-in limits."""
import pytest
from helpers import email_for
from sqlalchemy import select, update

from edc.api.models import ApiToken
from edc.audit.models import AuditEvent
from edc.audit.services import SYSTEM, verify
from edc.extensions import db as _db


def H(tok):
    return {"Authorization": f"Bearer {tok}"}


def ip(n):
    return {"REMOTE_ADDR": f"198.51.100.{n}"}


@pytest.fixture
def limits(app):
    saved = dict(app.config["RATE_LIMITS"])

    def set_(**kinds):
        app.config["RATE_LIMITS"] = {**saved, **{k.replace("_", "."): v
                                                 for k, v in kinds.items()}}
    yield set_
    app.config["RATE_LIMITS"] = saved


def events(app, action):
    with app.app_context():
        out = [(e.reason, e.object_type, e.object_id, e.ip) for e in _db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]
        _db.session.remove()
    return out


def user_id(app, role, site="ES01"):
    with app.app_context():
        from edc.auth.services import get_user_by_email
        uid = get_user_by_email(email_for(role, site)).id
        _db.session.remove()
    return uid


def assert_429(r, kind_text=None):
    assert r.status_code == 429 and r.is_json, (r.status_code, r.data[:200])
    assert r.json["error"] == "too_many_requests" and r.json["message"]
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["Cache-Control"] == "no-store"
    if kind_text:
        assert kind_text in r.json["message"]


# ---------------------------------------------------------------- who may use a token
def test_disabled_user_token_refused_and_audited(app, client, world, token):
    tok = token("monitor")
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 200
    with app.app_context():
        from edc.auth.services import disable
        disable(email_for("monitor", "ES01"), SYSTEM)
        _db.session.remove()
    r = client.get("/api/v1/sites", headers=H(tok))
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    assert ("user disabled", "user", str(user_id(app, "monitor")), "127.0.0.1") in \
        events(app, "api.auth.failure")


def test_must_change_password_token_refused_until_changed(app, client, world, token):
    from edc.auth import services as auth
    tok = token("investigator")
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 200
    with app.app_context():
        temp = auth.reset_password(email_for("investigator", "ES01"), SYSTEM)
        _db.session.remove()
    for url in ("/api/v1/sites", "/api/v1/snapshots", "/api/v1/public-key"):
        r = client.get(url, headers=H(tok))
        assert r.status_code == 401 and r.is_json, url
        assert "password was reset" in r.json["message"]
    assert events(app, "api.auth.failure")[0][0] == "password change required"
    with app.app_context():
        user = auth.get_user_by_email(email_for("investigator", "ES01"))
        auth.change_password(user, temp, "a brand new long passphrase 42", SYSTEM)
        _db.session.remove()
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 200


def test_revoked_and_expired_tokens_are_audited_failures(app, client, world, token):
    from edc.db import utcnow
    tok = token("coordinator")
    with app.app_context():
        _db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        _db.session.commit()
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 401
    tok2 = token("coordinator")
    with app.app_context():
        from datetime import timedelta
        _db.session.execute(update(ApiToken).where(ApiToken.revoked_at.is_(None))
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        _db.session.commit()
    assert client.get("/api/v1/sites", headers=H(tok2)).status_code == 401
    assert client.get("/api/v1/sites", headers=H("edc_nope")).status_code == 401
    assert client.get("/api/v1/sites", headers={"Authorization": "Basic x"}) \
        .status_code == 401
    assert [e[0] for e in events(app, "api.auth.failure")] == [
        "revoked token", "expired token", "unknown token", "malformed token"]
    with app.app_context():
        assert verify().ok


# ---------------------------------------------------------------- per IP
def test_bad_tokens_limited_per_ip(app, client, world, token, limits):
    limits(api_ip=(3, 900))
    good = token("investigator")
    # no token at all is not an attempt: never counted
    for _ in range(5):
        assert client.get("/api/v1/sites").status_code == 401
    for i in range(3):
        r = client.get("/api/v1/sites", headers=H(f"edc_guess-{i}"))
        assert r.status_code == 401
    # blocked: even a good token is not looked at from this address
    r = client.get("/api/v1/sites", headers=H(good))
    assert_429(r, "failed attempts")
    assert client.get("/api/v1/sites", headers=H("edc_guess-9")).status_code == 429
    blocked = events(app, "ratelimit.blocked")
    assert [b[0] for b in blocked] == ["api.ip", "api.ip"] and blocked[0][3] == "127.0.0.1"
    # another address is not affected
    assert client.get("/api/v1/sites", headers=H(good), environ_base=ip(7)).status_code \
        == 200
    # the openapi document needs no token and is never limited
    assert client.get("/api/openapi.json").status_code == 200


# ---------------------------------------------------------------- per account
def test_failures_of_an_accounts_tokens_limited_per_account(app, client, world, token,
                                                            limits):
    from edc.db import utcnow
    limits(api_account=(3, 900), api_ip=(100, 900))
    old = token("data_manager")
    with app.app_context():
        _db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        _db.session.commit()
    new = token("data_manager")
    for n in range(3):  # a leaked, revoked token tried from several addresses
        assert client.get("/api/v1/sites", headers=H(old), environ_base=ip(n + 1)) \
            .status_code == 401
    r = client.get("/api/v1/sites", headers=H(new), environ_base=ip(50))
    assert_429(r)
    dm = user_id(app, "data_manager")
    assert events(app, "ratelimit.blocked") == [("api.account", "user", str(dm),
                                                 "198.51.100.50")]
    # another account from the same addresses is fine
    assert client.get("/api/v1/sites", headers=H(token("monitor")),
                      environ_base=ip(1)).status_code == 200


def test_requests_limited_per_account(app, client, world, token, limits):
    limits(api_use=(5, 60))
    tok, tok2 = token("investigator"), token("investigator")
    for n in range(5):  # two tokens of one account share the quota, from any address
        r = client.get("/api/v1/sites", headers=H((tok, tok2)[n % 2]),
                       environ_base=ip(n))
        assert r.status_code == 200
    r = client.get("/api/v1/sites", headers=H(tok2), environ_base=ip(99))
    assert_429(r, "Too many requests")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    inv = user_id(app, "investigator")
    assert events(app, "ratelimit.blocked") == [("api.use", "user", str(inv),
                                                 "198.51.100.99")]
    # refused requests do not count; other accounts have their own quota
    assert client.get("/api/v1/sites", headers=H(token("coordinator"))).status_code == 200
    # the quota is a sliding window: once the requests leave it, the token works again
    with app.app_context():
        from datetime import timedelta

        from edc.auth.models import RateLimitHit
        from edc.db import utcnow
        _db.session.execute(update(RateLimitHit).values(at=utcnow() - timedelta(seconds=61)))
        _db.session.commit()
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 200
    with app.app_context():
        assert verify().ok


def test_429_is_documented_in_openapi(client):
    doc = client.get("/api/openapi.json").json
    for path, ops in doc["paths"].items():
        resp = ops["get"]["responses"]
        assert "401" in resp and "429" in resp, path
        assert "Retry-After" in resp["429"]["headers"]

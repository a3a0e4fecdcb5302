from datetime import timedelta

from helpers import PASSWORD, csrf_token, login, post

from edc.auth.models import User
from edc.db import utcnow


def test_login_and_home(client, world):
    r = login(client, world.email("investigator", "ES01"))
    assert r.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Investigator ES01" in page
    assert "ES01" in page


def test_unknown_email_and_wrong_password_same_message(client, world):
    a = login(client, "nobody@nowhere.org", PASSWORD)
    b = login(client, world.email("investigator", "ES01"), "wrong password here!")
    assert a.status_code == b.status_code == 401
    msg = "Invalid email or password."
    assert msg in a.get_data(as_text=True) and msg in b.get_data(as_text=True)


def test_lockout_after_five_failures(app, client, world, db):
    email = world.email("monitor", "ES01")
    for _ in range(5):
        assert login(client, email, "not the password!!").status_code == 401
    # the right password is now refused too
    assert login(client, email, PASSWORD).status_code == 401
    user = db.session.query(User).filter_by(email=email).one()
    assert user.locked_until is not None and user.locked_until > utcnow()
    # after 15 minutes the account opens again
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, email, PASSWORD).status_code == 302


def test_lockout_is_audited(app, client, world, db):
    from edc.audit.models import AuditEvent
    email = world.email("monitor", "ES01")
    for _ in range(5):
        login(client, email, "not the password!!")
    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions.count("login.failure") == 5
    assert "user.lockout" in actions


def test_csrf_refused(client, world):
    r = client.post("/auth/login", data={"email": world.email("investigator", "ES01"),
                                         "password": PASSWORD})
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    r = client.post("/auth/login", data={"email": world.email("investigator", "ES01"),
                                         "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 400


def test_logout_needs_post_and_ends_session(client, world):
    login(client, world.email("investigator", "ES01"))
    assert client.get("/auth/logout").status_code == 405
    r = post(client, "/auth/logout")
    assert r.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_logout_ends_every_session_of_the_user(app, world):
    a, b = app.test_client(), app.test_client()
    email = world.email("investigator", "ES01")
    login(a, email)
    login(b, email)
    assert b.get("/").status_code == 200
    post(a, "/auth/logout")
    assert b.get("/").status_code == 302


def test_disabled_user_sessions_end_and_cannot_log_in(app, client, world):
    from edc.audit.services import SYSTEM
    from edc.auth.services import disable
    email = world.email("coordinator", "ES01")
    login(client, email)
    with app.app_context():
        disable(email, SYSTEM)
    assert client.get("/").status_code == 302
    assert login(client, email).status_code == 401


def test_session_cookie_flags(app, world):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        c = app.test_client()
        token = csrf_token(c)
        r = c.post("/auth/login", data={"email": world.email("investigator", "ES01"),
                                        "password": PASSWORD, "csrf_token": token})
        cookie = r.headers.get("Set-Cookie")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_passwords_hashed_with_argon2id(world, db):
    user = db.session.query(User).first()
    assert user.password_hash.startswith("$argon2id$")


def test_production_argon2_parameters_meet_owasp():
    """The production hasher (the tests swap in a cheap one) uses argon2id with at least
    one of OWASP's recommended configurations (Password Storage Cheat Sheet): m=47104
    (46 MiB), t=1, p=1 or an equivalent with more iterations for less memory (m=19456,
    t=2 …)."""
    from argon2 import PasswordHasher, Type, extract_parameters

    from edc.auth.services import ARGON2_PARAMETERS
    p = extract_parameters(PasswordHasher(**ARGON2_PARAMETERS).hash("x" * 12))
    assert p.type is Type.ID
    owasp = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}  # iterations: min KiB
    assert p.memory_cost >= owasp[min(p.time_cost, 5)]
    assert p.parallelism >= 1


def test_open_redirect_refused(client, world):
    token = csrf_token(client)
    r = client.post("/auth/login?next=https://evil.example/x",
                    data={"email": world.email("investigator", "ES01"), "password": PASSWORD,
                          "csrf_token": token})
    assert r.headers["Location"] == "/"

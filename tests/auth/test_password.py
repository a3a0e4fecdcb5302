"""Password rules, the change-password page, and an administrator's reset that forces a
change at the next log-in."""
import pytest
from helpers import PASSWORD, email_for, login, post

from edc.audit.models import AuditEvent
from edc.auth.models import User
from edc.extensions import db as _db

NEW = "quiet lantern mosaic orbit"


def actions(app) -> list[str]:
    with app.app_context():
        out = [e.action for e in _db.session.query(AuditEvent).order_by(AuditEvent.id)]
        _db.session.remove()
    return out


def change(client, current, new, confirm=None):
    return post(client, "/auth/password", {"current": current, "new": new,
                                           "confirm": new if confirm is None else confirm})


@pytest.mark.parametrize("bad,why", [
    ("Abc123!xyz", "at least 12 characters"),          # 10 characters
    ("password1234", "too common"),
    ("qwertyuiopasdf", "too common"),
])
def test_password_rules(ctx, bad, why):
    from edc.auth.services import password_problem
    assert why in password_problem(bad)
    assert password_problem(NEW) is None


def test_change_password_page(app, world):
    email = email_for("coordinator", "ES01")
    a, b = app.test_client(), app.test_client()
    login(a, email)
    login(b, email)
    page = a.get("/auth/password").get_data(as_text=True)
    assert 'name="current"' in page and 'autocomplete="new-password"' in page
    r = change(a, "not my password!", NEW)
    assert r.status_code == 400 and "current password is wrong" in r.get_data(as_text=True)
    r = change(a, PASSWORD, "short pw")
    assert "at least 12 characters" in r.get_data(as_text=True)
    r = change(a, PASSWORD, "password1234")
    assert "too common" in r.get_data(as_text=True)
    r = change(a, PASSWORD, NEW, "something else entirely")
    assert "differ" in r.get_data(as_text=True)
    r = change(a, PASSWORD, PASSWORD)
    assert "must differ from the current one" in r.get_data(as_text=True)
    assert b.get("/").status_code == 200  # nothing changed yet
    r = change(a, PASSWORD, NEW)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    # this session continues, every other one ended
    assert a.get("/").status_code == 200
    assert b.get("/").status_code == 302
    acts = actions(app)
    assert "password.change_refused" in acts and acts[-1] == "password.change"
    post(a, "/auth/logout")
    assert login(a, email).status_code == 401
    assert login(a, email, NEW).status_code == 302


def test_admin_reset_forces_a_change(app, world):
    from edc.audit.services import SYSTEM
    from edc.auth import services
    email = email_for("monitor", "ES01")
    c = app.test_client()
    login(c, email)
    with app.app_context():
        temp = services.reset_password(email, SYSTEM)
        _db.session.remove()
    assert len(temp) >= 12
    assert c.get("/").status_code == 302  # the user's sessions ended
    assert login(c, email).status_code == 401  # the old password is gone
    assert login(c, email, temp).status_code == 302
    # until the password is changed, only the change page is reachable
    for url in ("/", "/patients/", "/auth/mfa"):
        r = c.get(url)
        assert r.status_code == 302 and r.headers["Location"] == "/auth/password", url
    page = c.get("/auth/password").get_data(as_text=True)
    assert "An administrator has reset your password" in page
    assert "must differ" in change(c, temp, temp).get_data(as_text=True)
    assert change(c, temp, NEW).status_code == 302
    assert c.get("/").status_code == 200
    with app.app_context():
        user = _db.session.query(User).filter_by(email=email).one()
        assert user.must_change_password is False and user.password_changed_at is not None
        _db.session.remove()
    acts = actions(app)
    assert "password.reset" in acts and acts[-1] == "password.change"
    # the temporary password is in no audit row
    with app.app_context():
        rows = _db.session.query(AuditEvent).all()
        assert not any(temp in (r.new_value or "") + (r.old_value or "") for r in rows)
        _db.session.remove()


def test_reset_lifts_a_lockout(app, client, world):
    from edc.audit.services import SYSTEM
    from edc.auth import services
    email = email_for("monitor", "ES01")
    for _ in range(5):
        login(client, email, "not the password!!")
    with app.app_context():
        temp = services.reset_password(email, SYSTEM)
        _db.session.remove()
    assert login(client, email, temp).status_code == 302


def test_logout_still_possible_while_change_is_due(app, client, world):
    from edc.audit.services import SYSTEM
    from edc.auth import services
    email = email_for("monitor", "ES01")
    with app.app_context():
        temp = services.reset_password(email, SYSTEM)
        _db.session.remove()
    login(client, email, temp)
    assert post(client, "/auth/logout").headers["Location"].endswith("/auth/login")

"""The user administration pages: who sees them, what an administrator of a site may
do, and the audit of every action."""
import re

import pyotp
from helpers import PASSWORD, email_for, login, post

from edc.audit.models import AuditEvent
from edc.auth.models import User
from edc.extensions import db as _db


def uid(app, email) -> int:
    with app.app_context():
        out = _db.session.query(User).filter_by(email=email).one().id
        _db.session.remove()
    return out


def user(app, email) -> User:
    with app.app_context():
        u = _db.session.query(User).filter_by(email=email).one()
        _db.session.expunge(u)
        _db.session.remove()
    return u


def actions(app) -> list[str]:
    with app.app_context():
        out = [e.action for e in _db.session.query(AuditEvent).order_by(AuditEvent.id)]
        _db.session.remove()
    return out


def enrol(app, email) -> str:
    from edc.audit.services import Actor
    from edc.auth import mfa
    from edc.auth.services import get_user_by_email
    with app.app_context():
        u = get_user_by_email(email)
        secret = mfa.start_enrolment(u, Actor.of(u))
        mfa.confirm_enrolment(u, pyotp.TOTP(secret).now(), Actor.of(u))
        _db.session.remove()
    return secret


def test_only_administrators_see_the_page(logged_in):
    for role in ("investigator", "coordinator", "monitor", "data_manager", "statistician"):
        c = logged_in(role)
        assert c.get("/admin/users").status_code == 403, role
        assert 'href="/admin/users"' not in c.get("/").get_data(as_text=True)
        assert post(c, "/admin/users/1/disable").status_code == 403
    c = logged_in("admin")
    assert 'href="/admin/users"' in c.get("/").get_data(as_text=True)
    assert c.get("/admin/users").status_code == 200


def test_list_is_scoped_to_the_administrators_sites(app, logged_in):
    from edc.audit.services import SYSTEM
    from edc.auth import services
    with app.app_context():
        services.create_user("new.person@test.example.org", "New Person", PASSWORD, SYSTEM)
        _db.session.remove()
    enrol(app, email_for("investigator", "ES01"))
    c = logged_in("admin")
    html = c.get("/admin/users").get_data(as_text=True)
    assert email_for("investigator", "ES01") in html
    assert email_for("investigator", "IT01") not in html  # another site's user
    assert "new.person@test.example.org" in html  # no role yet
    assert "Investigator" in html and "never" in html
    # MFA status: on for the enrolled investigator
    row = re.search(r"investigator\.es01@.*?</tr>", html, re.S).group(0)
    assert ">on<" in row.replace("<td>", ">").replace("</td>", "<")
    assert " style=" not in html and "<script" not in html
    # another site's user is a 404
    assert c.get(f"/admin/users/{uid(app, email_for('monitor', 'IT01'))}").status_code == 404
    assert c.get(f"/admin/users/{uid(app, email_for('monitor', 'ES01'))}").status_code == 200


def test_grant_and_revoke_only_at_own_sites(app, logged_in):
    c = logged_in("admin")
    target = uid(app, email_for("coordinator", "ES01"))
    r = post(c, f"/admin/users/{target}/grant", {"site": "ES01", "role": "monitor"},
             follow_redirects=True)
    assert "Role granted." in r.get_data(as_text=True)
    r = post(c, f"/admin/users/{target}/grant", {"site": "IT01", "role": "monitor"})
    assert r.status_code == 400  # not a choice: not the administrator's site
    with app.app_context():
        from edc.admin import services as admin
        from edc.audit.services import Actor
        from edc.auth.services import get_user_by_email
        from edc.errors import Forbidden
        a = get_user_by_email(email_for("admin", "ES01"))
        try:
            admin.grant(a, target, "IT01", "monitor", Actor.of(a))
            raise AssertionError("granted at another site")
        except Forbidden:
            pass
        _db.session.remove()
    r = post(c, f"/admin/users/{target}/revoke", {"site": "ES01", "role": "monitor"},
             follow_redirects=True)
    assert "Role revoked." in r.get_data(as_text=True)
    acts = actions(app)
    assert "role.grant" in acts and acts[-1] == "role.revoke"
    # by email: an account of another site gets a role here
    r = post(c, "/admin/users/grant", {"email": email_for("monitor", "IT01"), "site": "ES01",
                                       "role": "monitor"}, follow_redirects=True)
    assert "Role granted." in r.get_data(as_text=True)
    r = post(c, "/admin/users/grant", {"email": "nobody@nowhere.org", "site": "ES01",
                                       "role": "monitor"}, follow_redirects=True)
    assert "Unknown user" in r.get_data(as_text=True)


def test_account_actions_are_audited(app, logged_in):
    c = logged_in("admin")
    email = email_for("monitor", "ES01")
    target = uid(app, email)
    # lock the account, then unlock it
    other = app.test_client()
    for _ in range(5):
        login(other, email, "not the password!!")
    page = c.get(f"/admin/users/{target}").get_data(as_text=True)
    assert "locked until" in page and "Unlock" in page
    r = post(c, f"/admin/users/{target}/unlock", follow_redirects=True)
    assert "The account is unlocked." in r.get_data(as_text=True)
    assert login(other, email).status_code == 302
    # reset the password: shown once, the user must change it
    r = post(c, f"/admin/users/{target}/reset-password")
    temp = re.search(r'class="pid">([A-Z0-9-]{19})<', r.get_data(as_text=True)).group(1)
    assert other.get("/").status_code == 302  # the user's sessions ended
    assert login(other, email, temp).status_code == 302
    assert other.get("/").headers["Location"] == "/auth/password"
    assert "must change the password" in c.get("/admin/users").get_data(as_text=True)
    # reset MFA
    enrol(app, email)
    assert user(app, email).mfa_enabled_at is not None
    r = post(c, f"/admin/users/{target}/reset-mfa", follow_redirects=True)
    assert "Two-step log-in is reset" in r.get_data(as_text=True)
    u = user(app, email)
    assert u.mfa_enabled_at is None and u.mfa_secret_enc is None
    # disable
    r = post(c, f"/admin/users/{target}/disable", follow_redirects=True)
    assert "The account is disabled" in r.get_data(as_text=True)
    assert user(app, email).active is False
    acts = actions(app)
    for a in ("user.unlock", "password.reset", "mfa.reset", "user.disable"):
        assert a in acts, a


def test_no_action_on_own_account_or_on_other_sites_accounts(app, logged_in):
    from edc.audit.services import SYSTEM
    from edc.auth import services
    c = logged_in("admin")
    me = uid(app, email_for("admin", "ES01"))
    r = post(c, f"/admin/users/{me}/disable", follow_redirects=True)
    assert "Another administrator must change your own account" in r.get_data(as_text=True)
    assert user(app, email_for("admin", "ES01")).active
    r = post(c, f"/admin/users/{me}/grant", {"site": "ES01", "role": "investigator"},
             follow_redirects=True)
    assert "Another administrator" in r.get_data(as_text=True)
    # a user working at ES01 and IT01: roles at ES01 yes, account actions no
    email = email_for("coordinator", "IT01")
    with app.app_context():
        services.grant(email, "ES01", "coordinator", SYSTEM)
        _db.session.remove()
    target = uid(app, email)
    page = c.get(f"/admin/users/{target}").get_data(as_text=True)
    assert "sites you do not administer" in page
    before = user(app, email).password_hash
    r = post(c, f"/admin/users/{target}/reset-password", follow_redirects=True)
    assert "sites you do not administer" in r.get_data(as_text=True)
    assert user(app, email).password_hash == before
    r = post(c, f"/admin/users/{target}/revoke", {"site": "ES01", "role": "coordinator"},
             follow_redirects=True)
    assert "Role revoked." in r.get_data(as_text=True)


def test_user_area_links(logged_in):
    html = logged_in("coordinator").get("/").get_data(as_text=True)
    assert 'href="/auth/password"' in html and 'href="/auth/mfa"' in html

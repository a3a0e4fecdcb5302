"""Every route, every role, own site and another site."""
import pytest
from helpers import ROLES, post, register_patient

from edc import access

# (method, url template, {role: expected status at the own site})
OWN = {
    "list": ("GET", "/patients/", {"investigator": 200, "coordinator": 200, "monitor": 200,
                                   "data_manager": 200, "statistician": 403, "admin": 403}),
    "register_form": ("GET", "/patients/register",
                      {"investigator": 200, "coordinator": 200, "monitor": 403,
                       "data_manager": 403, "statistician": 403, "admin": 403}),
    "patient": ("GET", "/patients/{pid}",
                {"investigator": 200, "coordinator": 200, "monitor": 200,
                 "data_manager": 200, "statistician": 404, "admin": 404}),
    "lookup": ("GET", "/patients/lookup?q={pid}",
               {"investigator": 302, "coordinator": 302, "monitor": 302,
                "data_manager": 302, "statistician": 403, "admin": 403}),
    "home": ("GET", "/", {r: 200 for r in ROLES}),
}


@pytest.fixture
def pids(app, world):
    return {"ES01": register_patient(app, "ES01"), "IT01": register_patient(app, "IT01")}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(OWN))
def test_own_site(route, role, logged_in, pids):
    method, url, expected = OWN[route]
    c = logged_in(role, "ES01")
    r = c.get(url.format(pid=pids["ES01"]))
    assert r.status_code == expected[role], (route, role)
    if route == "lookup" and r.status_code == 302:
        assert r.headers["Location"].endswith(pids["ES01"])


@pytest.mark.parametrize("role", ROLES)
def test_other_sites_patient_is_404_everywhere(role, logged_in, pids):
    c = logged_in(role, "ES01")
    other = pids["IT01"]
    assert c.get(f"/patients/{other}").status_code == 404
    r = c.get(f"/patients/lookup?q={other}")
    assert r.status_code in (404, 403)
    if access.PERMISSIONS[role] & {access.PATIENT_VIEW}:
        assert r.status_code == 404
        assert other not in c.get("/patients/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(client, pids):
    for url in ("/", "/patients/", f"/patients/{pids['ES01']}", "/patients/register"):
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_navigation_shows_only_permitted_actions(logged_in, pids):
    inv = logged_in("investigator").get("/").get_data(as_text=True)
    assert "Register a patient" in inv and "Patients" in inv
    stat = logged_in("statistician").get("/").get_data(as_text=True)
    assert "Register a patient" not in stat and 'href="/patients/"' not in stat
    mon = logged_in("monitor").get("/").get_data(as_text=True)
    assert "Register a patient" not in mon and 'href="/patients/"' in mon


def test_multi_site_user_switches(app, world, pids):
    from edc.audit.services import SYSTEM
    from edc.auth.services import grant
    from helpers import email_for, login
    with app.app_context():
        grant(email_for("monitor", "ES01"), "IT01", "monitor", SYSTEM)
    c = app.test_client()
    login(c, email_for("monitor", "ES01"))
    page = c.get("/patients/").get_data(as_text=True)
    assert pids["ES01"] in page and pids["IT01"] not in page
    with app.app_context():
        from edc.sites.services import get_by_code
        it_id = get_by_code("IT01").id
    assert post(c, "/site", {"site_id": str(it_id)}).status_code == 302
    page = c.get("/patients/").get_data(as_text=True)
    assert pids["IT01"] in page and pids["ES01"] not in page
    # both patients are reachable directly now
    assert c.get(f"/patients/{pids['ES01']}").status_code == 200
    # a site where the user holds no role cannot be chosen
    with app.app_context():
        lb = get_by_code("LB01").id
    assert post(c, "/site", {"site_id": str(lb)}).status_code == 404


def test_revoked_role_loses_access_at_once(app, logged_in, pids):
    from edc.audit.services import SYSTEM
    from edc.auth.services import revoke
    from helpers import email_for
    c = logged_in("monitor")
    assert c.get(f"/patients/{pids['ES01']}").status_code == 200
    with app.app_context():
        revoke(email_for("monitor", "ES01"), "ES01", "monitor", SYSTEM)
    assert c.get(f"/patients/{pids['ES01']}").status_code == 404


def test_permission_table_is_complete():
    assert set(access.PERMISSIONS) == set(access.ROLES)
    assert not access.PERMISSIONS["statistician"] & {access.PATIENT_VIEW, access.CRF_VIEW}

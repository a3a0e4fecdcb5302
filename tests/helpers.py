"""Test helpers (importable: tests/ is on pytest's pythonpath)."""
from __future__ import annotations

import re

from edc.extensions import db as _db

PASSWORD = "correct horse battery staple"
SITE_DEFS = {
    "ES01": ("Hospital Clínic–IDIBAPS, Barcelona", "ES", "Europe/Madrid"),
    "IT01": ("Ospedale Pediatrico Bambino Gesù, Rome", "IT", "Europe/Rome"),
    "LB01": ("American University of Beirut Medical Center", "LB", "Asia/Beirut"),
    "JO01": ("King Hussein Cancer Center, Amman", "JO", "Asia/Amman"),
}
ROLES = ("investigator", "coordinator", "monitor", "data_manager", "statistician", "admin")


def csrf_token(client) -> str:
    """The CSRF token of the client's session (every page carries one)."""
    html = client.get("/auth/login", follow_redirects=True).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html) or \
        re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def post(client, url, data=None, **kw):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kw)


def login(client, email, password=PASSWORD):
    return post(client, "/auth/login", {"email": email, "password": password})


def email_for(role: str, site: str) -> str:
    return f"{role}.{site.lower()}@test.example.org"


def register_patient(app, site_code="ES01", *, identifiers=None, birth_year=2015, sex="F"):
    """Register a patient through the service as the site's investigator; returns the ID."""
    from datetime import date

    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    from edc.patients import services as patients
    from edc.sites.services import get_by_code
    with app.app_context():
        inv = get_user_by_email(email_for("investigator", site_code))
        p = patients.register(get_by_code(site_code), Actor.of(inv, "test"),
                              birth_year=birth_year, sex=sex, registered_on=date(2026, 1, 5),
                              identifiers=identifiers)
        pid = p.pseudonym
        _db.session.remove()
    return pid



"""Demo content: the four trial sites, one user per role per site, synthetic patients.

Refuses to run on a database that holds anything that is not demo data.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import access
from .audit.services import Actor
from .auth import services as auth_services
from .auth.models import User
from .errors import ServiceError
from .extensions import db
from .patients import services as patient_services
from .patients.models import Patient
from .sites import services as site_services
from .sites.models import Site

DEMO_PASSWORD = "milenari-demo-2026"
SITES = [
    ("ES01", "Hospital Clínic–IDIBAPS, Barcelona", "ES", "Europe/Madrid", "es"),
    ("IT01", "Ospedale Pediatrico Bambino Gesù, Rome", "IT", "Europe/Rome", "it"),
    ("LB01", "American University of Beirut Medical Center", "LB", "Asia/Beirut", "ar"),
    ("JO01", "King Hussein Cancer Center, Amman", "JO", "Asia/Amman", "ar"),
]
PATIENTS_PER_SITE = 3


def demo_email(role: str, site_code: str) -> str:
    return f"{role.replace('_', '-')}.{site_code.lower()}@demo.milenari.org"


def has_real_data() -> bool:
    for model in (Site, User, Patient):
        if db.session.scalars(select(model).where(model.demo.is_(False)).limit(1)).first():
            return True
    return False


def load_demo(seed: int = 2026) -> list[tuple[str, str, str]]:
    if has_real_data():
        raise ServiceError(_l("This database holds real (non-demo) data: the demo refuses "
                              "to load into it."))
    if db.session.scalars(select(Site).where(Site.demo.is_(True)).limit(1)).first():
        return [(demo_email(role, code), DEMO_PASSWORD, f"{role} at {code}")
                for code, *_rest in SITES for role in access.ROLES]
    rng = random.Random(seed)
    actor = Actor(None, "demo loader", "cli")
    logins = []
    for code, name, country, tz, locale in SITES:
        site_services.add_site(code, name, country, tz, actor, demo=True)
        for role in access.ROLES:
            email = demo_email(role, code)
            auth_services.create_user(
                email, f"Demo {role.replace('_', ' ').title()} {code}",
                DEMO_PASSWORD, actor, locale=None, demo=True)
            auth_services.grant(email, code, role, actor)
            logins.append((email, DEMO_PASSWORD, f"{role} at {code}"))
    for code, *_ in SITES:
        site = site_services.get_by_code(code)
        inv = auth_services.get_user_by_email(demo_email("investigator", code))
        inv_actor = Actor.of(inv, "demo")
        for i in range(PATIENTS_PER_SITE):
            registered = date.today() - timedelta(days=rng.randint(60, 400))
            patient_services.register(
                site, inv_actor, birth_year=rng.randint(date.today().year - 18,
                                                        date.today().year - 3),
                sex=rng.choice("FM"), registered_on=registered, demo=True,
                identifiers={"full_name": f"Demo Patient {code}-{i + 1}",
                             "mrn": f"{code}-MRN-{rng.randint(100000, 999999)}"})
    return logins

"""Helpers shared by the monitoring tests (queries, SDV, signatures, locks, alerts)."""
from __future__ import annotations

import re

from helpers import email_for
from sqlalchemy import select

from edc.extensions import db as _db

DM = {"BRTHYR": "2016", "SEX": "F", "WEIGHT": "22.5", "HEIGHT": "118"}
APH = {"APHDAT": "2026-01-10", "APHALC": "1.2", "APHCD3": "800",
       "APHPRODID": "MIL-ES01-0001-A", "MFGOUT": "pending"}


def user(role, site="ES01"):
    from edc.auth.services import get_user_by_email
    return get_user_by_email(email_for(role, site))


def actor(role, site="ES01"):
    from edc.audit.services import Actor
    return Actor.of(user(role, site), "test")


def patient(pid):
    from edc.patients.models import Patient
    return _db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()


def save(pid, visit, oid, values, *, role="investigator", site=None, complete=True,
         record_id=None, reason=None, missing=None):
    """Save through the engine's service (in an app context); returns the outcome."""
    from edc.crf import services
    p = patient(pid)
    site = site or p.site.code
    rv = None
    if record_id is not None:
        from edc.crf.models import FormRecord
        rv = _db.session.get(FormRecord, record_id).row_version
    return services.save(actor(role, site), p, visit, oid, record_id=record_id,
                         row_version=rv, raw=dict(values), raw_missing=missing or {},
                         complete=complete, reason=reason)


def record(record_id):
    from edc.crf.models import FormRecord
    return _db.session.get(FormRecord, record_id)


def grant(app, role, site, *, email=None, name=None):
    """Give ``role`` at ``site`` to a (new or existing) user; returns the email."""
    from helpers import PASSWORD

    from edc.audit.services import SYSTEM
    from edc.auth import services as auth
    email = email or email_for(role, site)
    with app.app_context():
        if auth.get_user_by_email(email) is None:
            auth.create_user(email, name or f"{role.title()} {site}", PASSWORD, SYSTEM)
        auth.grant(email, site, role, SYSTEM)
        _db.session.remove()
    return email


def row_version(html):
    m = re.search(r'name="row_version"[^>]*value="(\d+)"', html) or \
        re.search(r'value="(\d+)"[^>]*name="row_version"', html)
    return m.group(1) if m else ""


def audit_actions(prefix):
    from edc.audit.models import AuditEvent
    return [e.action for e in _db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like(prefix + "%"))
        .order_by(AuditEvent.id))]

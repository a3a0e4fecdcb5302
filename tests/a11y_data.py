"""Data for the accessibility tests: pages with content (tables, queries, a signature,
an alert, a lock, a snapshot), seeded through the services as a user would create it.

``seed(app)`` (after the ``world`` fixture) returns the ids the page list needs.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from types import SimpleNamespace

from helpers import PASSWORD, email_for
from sqlalchemy import select

from edc.extensions import db as _db


def _actor(role, site="ES01"):
    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    return Actor.of(get_user_by_email(email_for(role, site)), "test")


def _register(site, inv, *, age, registered):
    from edc.demo import _birth
    from edc.patients import services as patients
    rng = random.Random(age)
    year, month = _birth(registered, age, rng)
    p = patients.register(site, inv, birth_year=year, sex="F", registered_on=registered,
                          identifiers={"full_name": "Ana Prueba", "mrn": f"HC-{age:06d}"})
    return p, year, month


def seed(app) -> SimpleNamespace:
    """At ES01: a 6-year-old (ICANS graded with the CAPD) and a 9-year-old with a grade 3
    CRS, both through the demo course (every eCRF up to month 3 filled, show_if sections
    revealed), a manual and an SAE alert, a signed visit, a locked patient and a working
    export (snapshot)."""
    from edc.demo import Course
    from edc.alerts.models import SafetyAlert
    from edc.crf.models import FormRecord
    from edc.exports import services as exports
    from edc.queries import services as queries
    from edc.signing import locks
    from edc.signing import services as signing
    from edc.sites.services import get_by_code
    with app.app_context():
        site = get_by_code("ES01")
        inv = _actor("investigator")
        today = date.today()
        young, y, m = _register(site, inv, age=6, registered=today - timedelta(days=130))
        Course(inv, young, random.Random(1), "icans_capd", 6, y, m, "F").run()
        crs, y, m = _register(site, inv, age=9, registered=today - timedelta(days=110))
        Course(inv, crs, random.Random(2), "crs3", 9, y, m, "F").run()
        # a serious adverse event: an SAE alert with its 24-hour clock
        from edc.crf import services as crf
        out = crf.save(inv, young, "LOG", "AE", record_id=None, row_version=None, raw={
            "AETERM": "Sepsis", "AECRSIC": "no", "AESTDAT": (today - timedelta(days=3))
            .isoformat(), "AEONGO": "true", "AETOXGR": "4", "AESER": "true",
            "AESCRIT": "life_threatening", "AESI": "false",
            "AEAWDAT": (today - timedelta(days=2)).isoformat()},
            raw_missing={}, complete=False, reason=None)   # in progress
        assert out.saved, out.result
        recs = list(_db.session.scalars(select(FormRecord).where(
            FormRecord.patient_id.in_([young.id, crs.id])).order_by(FormRecord.id)))
        # one record per form: the young patient's, else the CRS patient's; for repeated
        # forms the one with the most values (the most sections shown)
        by_form: dict[str, FormRecord] = {}
        for r in recs:
            best = by_form.get(r.form_oid)
            if best is None or len(r.values or {}) > len(best.values or {}):
                by_form[r.form_oid] = r
        dm = by_form["DM"]
        mon = _actor("monitor")
        q = queries.raise_query(mon, young, dm, "WEIGHT", "Weight 20.1 kg in the source?")
        queries.transition(inv, young, q, "answer", "Checked: the source says so.")
        queries.raise_query(mon, young, by_form["APH"], "APHDAT", "Date in the source?")
        signing.sign(inv, young, "APH", PASSWORD)
        locked, *_ = _register(site, inv, age=12, registered=today - timedelta(days=5))
        locks.lock_patient(_actor("data_manager"), locked, "screening failure checked")
        blank, *_ = _register(site, inv, age=10, registered=today - timedelta(days=2))
        from edc.auth.services import grant
        for code in ("IT01", "LB01", "JO01"):   # the database lock page needs every site
            grant(email_for("data_manager", "ES01"), code, "data_manager", inv)
        snap = exports.working_export(_actor("data_manager"))
        # the statistician has enrolled a TOTP app: the log-in asks for a code
        import pyotp

        from edc.auth import mfa
        stat = _actor("statistician")
        secret = mfa.start_enrolment(stat.user, stat)
        mfa.confirm_enrolment(stat.user, pyotp.TOTP(secret).now(), stat)
        alert = _db.session.scalars(select(SafetyAlert).order_by(SafetyAlert.id)).first()
        admin_target = _actor("investigator").user_id
        data = SimpleNamespace(
            pid=young.pseudonym, crs_pid=crs.pseudonym, locked_pid=locked.pseudonym,
            blank_pid=blank.pseudonym,
            records={oid: (r.id, _pid(r, young, crs), r.visit_code)
                     for oid, r in by_form.items()},
            query_id=q.id, alert_id=alert.id if alert else None, snapshot=snap.name,
            user_id=admin_target, dm_record=dm.id)
        _db.session.remove()
    return data


def _pid(rec, *patients):
    return next(p.pseudonym for p in patients if p.id == rec.patient_id)

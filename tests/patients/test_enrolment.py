"""Enrolment is gated on complete screening and eligibility (forms/schedule.yaml)."""
from helpers import post, register_patient
from sqlalchemy import select

from edc.patients.models import Patient

INCL = ["INCD19", "INAGE", "INPERF", "INRENAL", "INHEPAT", "INCARD", "INPULM", "INLIFEX",
        "INCONS"]
EXCL = ["EXCNS3", "EXINFECT", "EXGVHD", "EXHCT", "EXPRCART", "EXPREG", "EXVIRAL", "EXBURK",
        "EXCNSDIS"]


def elig(**over):
    data = {"IEDAT": "2026-01-10", "PSSCALE": "lansky", "PSSCORE": "80", "IEYN": "true",
            "action": "complete"}
    data.update({i: "true" for i in INCL})
    data.update({e: "false" for e in EXCL})
    data.update(over)
    return data


IC = {"RFICDAT": "2026-01-06", "ICVER": "v2.1", "ICLANG": "es", "ICSIGNER": "both_parents",
      "ICWITN": "false", "ASNTAPPL": "false", "action": "complete"}


def _status(app, pid):
    with app.app_context():
        from edc.extensions import db
        return db.session.scalars(select(Patient.status).where(Patient.pseudonym == pid)).one()


def test_enrolment_needs_complete_screening_and_eligibility(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    page = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert "cannot be enrolled yet" in page and "is not complete" in page
    r = post(c, f"/patients/{pid}/enrol", follow_redirects=True)
    assert "cannot be enrolled" in r.get_data(as_text=True)
    assert _status(app, pid) == "screening"
    assert post(c, f"/patients/{pid}/forms/SCR/IC", IC).status_code == 302
    r = post(c, f"/patients/{pid}/forms/SCR/ELIG", elig(EXCNS3="true", IEYN="false"))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    page = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Exclusion criterion present" in page
    assert _status(app, pid) == "screening"
    post(c, f"/patients/{pid}/enrol")
    assert _status(app, pid) == "screening"


def test_eligible_patient_is_enrolled_and_audited(app, logged_in):
    pid = register_patient(app)
    c = logged_in("coordinator")
    post(c, f"/patients/{pid}/forms/SCR/IC", IC)
    assert post(c, f"/patients/{pid}/forms/SCR/ELIG", elig()).status_code == 302
    page = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Enrol the patient" in page
    assert post(c, f"/patients/{pid}/enrol").status_code == 302
    assert _status(app, pid) == "enrolled"
    with app.app_context():
        from edc.audit.models import AuditEvent
        from edc.extensions import db
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "patient.enrol")).one().object_id == pid
    # only roles that register patients may enrol; other sites get 404
    assert post(logged_in("monitor"), f"/patients/{pid}/enrol").status_code == 403
    assert post(logged_in("investigator", "IT01"), f"/patients/{pid}/enrol").status_code == 404


def test_summary_shows_clinical_facts(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    page = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Clinical summary" in page and "Maximum CRS grade" in page
    assert c.get("/site/summary").status_code == 200
    assert logged_in("statistician").get("/site/summary").status_code == 403


def test_registration_and_enrolment_refused_on_locked_site(app, logged_in):
    from helpers import email_for

    from edc.auth.services import get_user_by_email
    from edc.signing.models import DataLock
    pid = register_patient(app)
    with app.app_context():
        from edc.db import utcnow
        from edc.extensions import db
        from edc.sites.services import get_by_code
        dm = get_user_by_email(email_for("data_manager", "ES01"))
        db.session.add(DataLock(scope="site", site_id=get_by_code("ES01").id, active=True,
                                locked_at=utcnow(), locked_by=dm.id,
                                locked_by_name=dm.name, reason="monitoring visit"))
        db.session.commit()
    c = logged_in("investigator")
    r = post(c, "/patients/register", {"birth_year": "2016", "sex": "M",
                                       "registered_on": "2026-03-01"})
    assert r.status_code in (409, 422) and "locked" in r.get_data(as_text=True)
    r = post(c, f"/patients/{pid}/enrol")
    assert r.status_code in (302, 409)
    assert _status(app, pid) == "screening"

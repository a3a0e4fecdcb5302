"""Safety alerts: triggers, recipients (investigators and sponsor safety users of the
site), in-app inbox with unread count, and the SAE 24-hour clock."""
from datetime import date, datetime, timedelta, timezone

import pytest
from helpers import ROLES, register_patient
from mon_support import APH, DM, audit_actions, grant, patient, save
from sqlalchemy import func, select

from edc.alerts import services
from edc.alerts.models import AlertReceipt, OutboxMail, SafetyAlert
from edc.extensions import db as _db

SAFETY_ES = "safety.sponsor@test.example.org"
AE = {"AETERM": "Febrile neutropenia", "AECRSIC": "no", "AESTDAT": "2026-01-20",
      "AEONGO": "true", "AETOXGR": "3", "AESER": "true",
      "AESCRIT": "hospitalisation", "AESI": "false", "AEAWDAT": "2026-01-21"}
CRS3 = {"CRSDAT": "2026-01-20", "CRSTMAX": "39.2", "CRSFEVOC": "false",
        "CRSMASK": "false", "CRSHYPO": "true", "CRSVASO": ["norepinephrine"],
        "CRSO2DEV": "none", "CRSDTH": "false"}
ICANS4 = {"ICANDAT": "2026-01-20", "ICANDD": "false", "ICANSED": "false",
          "ICANMOT": "true", "ICANDTH": "false"}


@pytest.fixture
def es(app, world):
    """An ES01 patient; a sponsor safety user assigned to ES01 (and one to IT01)."""
    grant(app, "safety", "ES01", email=SAFETY_ES, name="Sponsor Safety")
    grant(app, "safety", "IT01")
    return register_patient(app)


def _alerts(kind=None):
    q = select(SafetyAlert).order_by(SafetyAlert.id)
    if kind:
        q = q.where(SafetyAlert.kind == kind)
    return list(_db.session.scalars(q))


def test_serious_adverse_event_alerts_site_investigators_and_safety_users(app, logged_in,
                                                                           es):
    pid = es
    with app.app_context():
        out = save(pid, "LOG", "AE", AE, complete=False)
        assert out.saved, out.result
        [a] = _alerts("sae")
        assert a.aware_date == date(2026, 1, 21) and a.record_id == out.record.id
        to = sorted(m.to_addr for m in _db.session.scalars(select(OutboxMail)))
        assert to == sorted(["investigator.es01@test.example.org", SAFETY_ES])
        assert {m.status for m in _db.session.scalars(select(OutboxMail))} == {"pending"}
        assert _db.session.scalar(select(func.count(AlertReceipt.id))) == 2
        assert audit_actions("alert.") == ["alert.create"]
        mail = _db.session.scalars(select(OutboxMail)).first()
        assert pid in mail.subject and "Serious adverse event" in mail.subject
        assert "report by" in mail.body and "Febrile" not in mail.body
        # saving the same AE again: no second alert
        save(pid, "LOG", "AE", dict(AE, AETOXGR="4"), record_id=out.record.id,
             complete=False)
        assert len(_alerts("sae")) == 1
        aid = a.id
    # in-app inbox with unread count
    inv = logged_in("investigator")
    home = inv.get("/").get_data(as_text=True)
    assert "1 unread" in home
    box = inv.get("/alerts/").get_data(as_text=True)
    assert pid in box and "Serious adverse event" in box
    page = inv.get(f"/alerts/{aid}").get_data(as_text=True)
    assert "24-hour clock" in page and "Report by" in page
    assert "unread" not in inv.get("/").get_data(as_text=True)
    # the sponsor's safety user of ES01 sees it; of IT01 not
    from helpers import login
    c = app.test_client()
    login(c, SAFETY_ES)
    assert "1 unread" in c.get("/").get_data(as_text=True)
    assert c.get(f"/alerts/{aid}").status_code == 200
    assert c.get(f"/patients/{pid}").status_code == 404  # alerts only, no live data
    assert logged_in("safety", "IT01").get(f"/alerts/{aid}").status_code == 404
    assert logged_in("investigator", "IT01").get(f"/alerts/{aid}").status_code == 404
    assert pid not in logged_in("investigator", "IT01").get("/alerts/").get_data(
        as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_alert_pages_per_role(app, logged_in, es, role):
    pid = es
    with app.app_context():
        save(pid, "LOG", "AE", AE, complete=False)
        aid = _alerts()[0].id
    c = logged_in(role)
    sees = role in ("investigator", "monitor", "data_manager")
    assert c.get("/alerts/").status_code == (200 if sees else 403), role
    assert c.get(f"/alerts/{aid}").status_code == (200 if sees else 404), role
    nav = c.get("/").get_data(as_text=True)
    assert ('href="/alerts/"' in nav) == sees


def test_crs_and_icans_grade_3_or_more(app, world, es):
    pid = es
    with app.app_context():
        save(pid, "SCR", "DM", DM)
        out = save(pid, "ACUTE", "CRS", CRS3, complete=False)
        assert out.saved, out.result
        assert out.record.values["CRSGRADE"] == 3
        [a] = _alerts("crs")
        assert a.details["grade"] == 3
        # the same grade again: no new alert; a higher grade: a new one
        save(pid, "ACUTE", "CRS", dict(CRS3, CRSTMAX="39.5"), record_id=out.record.id,
             complete=False)
        assert len(_alerts("crs")) == 1
        save(pid, "ACUTE", "CRS", dict(CRS3, CRSVASO=["norepinephrine", "epinephrine"]),
             record_id=out.record.id, complete=False)
        assert [x.details["grade"] for x in _alerts("crs")] == [3, 4]
        # grade 2: nothing
        save(pid, "ACUTE", "CRS", dict(CRS3, CRSVASO=[]), complete=False)
        assert len(_alerts("crs")) == 2
        out = save(pid, "ACUTE", "ICANS", ICANS4, complete=False)
        assert out.saved, out.result
        assert out.record.values["ICANSGRADE"] >= 3
        [a] = _alerts("icans")
        assert a.details["grade"] == out.record.values["ICANSGRADE"]


def test_death_and_chain_of_identity_refusal(app, world, es):
    pid = es
    with app.app_context():
        out = save(pid, "LOG", "DD", {"DTHDAT": "2026-02-01", "DDCAUSE": "disease"},
                   complete=False)
        assert out.saved, out.result
        [a] = _alerts("death")
        assert a.details["date"] == "2026-02-01"
        save(pid, "LOG", "DD", {"DTHDAT": "2026-02-02", "DDCAUSE": "disease"},
             record_id=out.record.id, complete=False)
        assert len(_alerts("death")) == 1
        # chain of identity: the bag does not match the apheresis product
        assert save(pid, "APH", "APH", APH).saved
        out = save(pid, "D0", "EX", {"EXBAGID": "MIL-XX99-9999-Z"}, complete=False)
        assert out.result.refusals and not out.saved
        [a] = _alerts("coi_refusal")
        assert a.record_id is None and a.details["form"] == "EX"
        assert a.details["check"] == "CHK_CHAIN_OF_IDENTITY"
        assert _db.session.scalar(select(func.count(OutboxMail.id))) == 4  # 2 alerts × 2


def test_sae_clock_on_the_form(app, logged_in, es):
    from edc.schedule.services import site_today
    pid = es
    with app.app_context():
        # the investigator enters the site's date of today (Madrid's date is already
        # tomorrow's from 23:00 UTC in winter: the server's date would be a day early)
        today = site_today(patient(pid).site)
        out = save(pid, "LOG", "AE", dict(AE, AEAWDAT=today.isoformat()), complete=False)
        rid = out.record.id
        clock = services.sae_clock(today, patient(pid).site)
        assert clock["due"] - clock["start"] == timedelta(hours=24)
        assert not clock["overdue"]
    html = logged_in("investigator").get(f"/patients/{pid}/records/{rid}").get_data(
        as_text=True)
    assert 'id="sae-clock"' in html and "Report by" in html and "hours left" in html
    with app.app_context():
        old = save(pid, "LOG", "AE", dict(AE, AEAWDAT="2026-01-02"),
                   complete=False).record.id
    html = logged_in("investigator").get(
        f"/patients/{pid}/records/{old}").get_data(as_text=True)
    assert "overdue" in html


def test_sae_clock_starts_at_the_site_midnight():
    from types import SimpleNamespace
    site = SimpleNamespace(timezone="Europe/Rome")
    c = services.sae_clock("2026-07-01", site,
                           now=datetime(2026, 7, 1, 12, tzinfo=timezone.utc))
    assert c["start"] == datetime(2026, 6, 30, 22, tzinfo=timezone.utc)
    assert c["due"] == datetime(2026, 7, 1, 22, tzinfo=timezone.utc)
    assert c["hours_left"] == 10 and not c["overdue"]
    assert services.sae_clock(None, site) is None


def test_inactive_and_other_roles_receive_nothing(app, world, es):
    pid = es
    from edc.audit.services import SYSTEM
    from edc.auth.services import revoke
    with app.app_context():
        revoke("investigator.es01@test.example.org", "ES01", "investigator", SYSTEM)
        save(pid, "LOG", "AE", AE, role="coordinator", complete=False)
        assert [m.to_addr for m in _db.session.scalars(select(OutboxMail))] == [SAFETY_ES]

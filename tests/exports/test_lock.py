"""Database lock: blockers, override for interim cuts, freeze, unlock, versions, audit."""
from datetime import date

import pytest
from helpers import email_for, post
from sqlalchemy import select, update

from edc.audit.models import AuditEvent
from edc.crf.models import FormRecord
from edc.errors import Conflict, Forbidden, ServiceError
from edc.exports import services
from edc.exports.models import DatabaseLock, Snapshot


def _events(db, action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def test_nothing_blocks_a_clean_trial(ctx, db, trial):
    b = services.blockers()
    assert b.empty, b.counts


def test_blockers_are_listed(ctx, db, trial, actor):
    from edc.queries.models import Query
    rec = db.session.scalars(select(FormRecord).order_by(FormRecord.id)).first()
    other = db.session.scalars(select(FormRecord).where(FormRecord.id != rec.id)
                               .order_by(FormRecord.id)).first()
    other.status = "in_progress"
    db.session.add(Query(record_id=rec.id, patient_id=rec.patient_id, site_id=rec.site_id,
                         item="BRTHYR", kind="manual", status="open", message="check",
                         params={}))
    from edc.signing.models import Signature
    db.session.execute(update(Signature).where(Signature.patient_id == rec.patient_id)
                       .values(status="invalidated"))
    db.session.commit()
    b = services.blockers()
    assert b.counts["open_queries"] == 1
    assert b.details["open_queries"][0]["item"] == "BRTHYR"
    assert b.counts["incomplete_forms"] == 1
    assert b.details["incomplete_forms"][0]["record_id"] == other.id
    assert b.counts["unsigned_visits"] >= 5          # every visit of that patient
    assert b.counts["unverified_forms"] == 0         # SDV not required
    assert {d["patient"] for d in b.details["unsigned_visits"]} == {rec.patient.pseudonym}


def test_unverified_forms_block_when_sdv_required(app, ctx, db, trial):
    app.config["SDV_REQUIRED"] = True
    try:
        b = services.blockers()
        n = db.session.scalar(select(__import__("sqlalchemy").func.count(FormRecord.id)))
        assert b.counts["unverified_forms"] == n
    finally:
        app.config["SDV_REQUIRED"] = False


def test_full_lock_refused_while_blocked_interim_needs_reason(ctx, db, trial, actor):
    rec = db.session.scalars(select(FormRecord).order_by(FormRecord.id)).first()  # SCR
    rec.status = "in_progress"
    db.session.commit()
    dm = actor("data_manager")
    with pytest.raises(Conflict):
        services.lock_database(dm, kind="full")
    with pytest.raises(ServiceError):
        services.lock_database(dm, kind="interim", name="DSMB 1", cutoff=date(2026, 3, 1))
    assert services.active_lock() is None
    lock, snap = services.lock_database(dm, kind="interim", name="DSMB 1",
                                        cutoff=date(2026, 3, 1),
                                        override_reason="DSMB meets on Monday")
    assert lock.override_reason == "DSMB meets on Monday"
    assert lock.blockers["incomplete_forms"] >= 0
    ev = _events(db, "database.lock")[-1]
    assert ev.reason == "DSMB meets on Monday" and ev.object_id == str(lock.id)
    assert snap.name == "dsmb-1-v1" and snap.status == "ready"
    assert snap.cutoff == date(2026, 3, 1)


def test_lock_freezes_every_write_and_unlock_needs_reason(app, ctx, db, trial, actor):
    from edc.crf import services as crf
    from edc.patients.models import Patient
    from edc.signing.locks import Locked
    dm = actor("data_manager")
    lock, snap = services.lock_database(dm, kind="full")
    assert lock.status == "active" and snap.version == 1 and snap.name == "full-v1"
    assert [e.object_id for e in _events(db, "snapshot.create")] == ["full-v1"]
    inv = actor("investigator")
    patient = db.session.scalars(select(Patient).where(Patient.site_id == inv.user
                                                       .memberships[0].site_id)).first()
    with pytest.raises(Locked):
        crf.save(inv, patient, "SCR", "DM", record_id=None, row_version=None,
                 raw={"BRTHYR": "2015"}, raw_missing={}, complete=False, reason=None)
    with pytest.raises(Conflict):
        services.lock_database(dm, kind="full")
    with pytest.raises(ServiceError):
        services.unlock_database(dm, "  ")
    services.unlock_database(dm, "Correct a weight at IT01")
    assert services.active_lock() is None
    ev = _events(db, "database.unlock")[-1]
    assert ev.reason == "Correct a weight at IT01"
    # the next lock makes a new version; the old snapshot stays, on disk too
    _lock2, snap2 = services.lock_database(dm, kind="full")
    assert snap2.version == 2 and snap2.name == "full-v2"
    names = [s.name for s in db.session.scalars(select(Snapshot).order_by(Snapshot.id))]
    assert names == ["full-v1", "full-v2"]
    assert (services.snapshot_root() / "full-v1" / "manifest.json").exists()
    assert len(db.session.scalars(select(DatabaseLock)).all()) == 2


def test_only_a_data_manager_of_every_site_locks(app, ctx, db, world, actor):
    with pytest.raises(Forbidden):
        services.lock_database(actor("data_manager", "IT01"), kind="full")
    with pytest.raises(Forbidden):
        services.lock_database(actor("statistician"), kind="full")
    with pytest.raises(Forbidden):
        services.lock_database(actor("investigator"), kind="full")


def test_lock_through_the_pages(app, trial, logged_in):
    c = logged_in("data_manager")
    page = c.get("/exports/lock").get_data(as_text=True)
    assert "Nothing blocks the lock" in page
    r = post(c, "/exports/lock", {"kind": "full", "name": "", "cutoff": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert r.headers["Location"].endswith("/exports/full-v1/")
    page = c.get("/exports/").get_data(as_text=True)
    assert "The database is locked" in page and "full-v1" in page
    r = post(c, "/exports/unlock", {"reason": "query on AE dates"})
    assert r.status_code == 302
    assert "The database is not locked" in c.get("/exports/").get_data(as_text=True)


def test_blockers_page_lists_them(app, trial, logged_in):
    from edc.extensions import db
    with app.app_context():
        rec = db.session.scalars(select(FormRecord)).first()
        rec.status = "in_progress"
        pseudonym = rec.patient.pseudonym
        db.session.commit()
    c = logged_in("data_manager")
    page = c.get("/exports/lock").get_data(as_text=True)
    assert "Forms not complete" in page and pseudonym in page
    r = post(c, "/exports/lock", {"kind": "full"})
    assert r.status_code == 409
    with app.app_context():
        assert services.active_lock() is None
    r = post(c, "/exports/lock", {"kind": "interim", "name": "Interim A",
                                  "cutoff": "2026-04-01", "override_reason": "DSMB"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]


@pytest.mark.parametrize("role", ["statistician", "investigator", "monitor", "admin"])
def test_others_cannot_reach_the_lock(app, trial, logged_in, role):
    c = logged_in(role)
    assert c.get("/exports/lock").status_code == 403
    assert post(c, "/exports/unlock", {"reason": "x"}).status_code == 403


def test_data_manager_of_one_site_cannot_lock(app, world, logged_in):
    c = logged_in("data_manager", "IT01")
    assert c.get("/exports/lock").status_code == 403
    assert email_for("data_manager", "IT01")

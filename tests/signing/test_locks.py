"""Locks: freeze a form, lock a patient or a site; every write route refuses locked data;
unlocking needs a data manager and a reason, audited."""
import pytest
from helpers import PASSWORD, ROLES, post, register_patient
from mon_support import APH, DM, actor, audit_actions, grant, patient, record, save
from sqlalchemy import select

from edc import access
from edc.crf import services as crf
from edc.extensions import db as _db
from edc.queries import sdv
from edc.queries import services as queries
from edc.queries.models import Query
from edc.signing import locks
from edc.signing import services as signing
from edc.signing.models import DataLock


@pytest.fixture
def data(app, world):
    """ES01 patient with a complete DM (with an open manual query) and APH record."""
    pid = register_patient(app)
    with app.app_context():
        dm = save(pid, "SCR", "DM", DM).record.id
        aph = save(pid, "APH", "APH", APH).record.id
        q = queries.raise_query(actor("monitor"), patient(pid), record(dm), "WEIGHT", "w?")
        qid = q.id
        _db.session.remove()
    return pid, dm, aph, qid


def _lock(app, scope, pid, rid=None):
    with app.app_context():
        a, p = actor("data_manager"), patient(pid)
        lk = {"form": lambda: locks.freeze_form(a, p, record(rid), "database lock prep"),
              "patient": lambda: locks.lock_patient(a, p, "patient complete"),
              "site": lambda: locks.lock_site(a, p.site, "site closed")}[scope]()
        lid = lk.id
        _db.session.remove()
    return lid


def _write_routes(pid, dm, aph, qid):
    """Every web route that writes, with its form data: (name, url, data)."""
    return [
        ("crf.new", f"/patients/{pid}/forms/SCR/MH", {"action": "save"}),
        ("crf.edit", f"/patients/{pid}/records/{dm}", dict(DM, WEIGHT="30", action="save",
                                                           reason="x", row_version="1")),
        ("query.raise", f"/queries/raise/{pid}/{dm}", {"item": "SEX", "text": "?"}),
        ("query.answer", f"/queries/{qid}/answer", {"text": "fine"}),
        ("query.cancel", f"/queries/{qid}/cancel", {"text": "error"}),
        ("sdv.items", f"/queries/sdv/{pid}/{aph}", {"item": "APHDAT"}),
        ("sdv.whole", f"/queries/sdv/{pid}/{aph}", {"whole": "1"}),
        ("sign", f"/signing/{pid}/sign/APH", {"password": PASSWORD}),
    ]


ROUTE_ROLE = {"crf.new": "investigator", "crf.edit": "investigator",
              "query.raise": "monitor", "query.answer": "investigator",
              "query.cancel": "monitor", "sdv.items": "monitor", "sdv.whole": "monitor",
              "sign": "investigator"}


@pytest.mark.parametrize("scope", ["patient", "site"])
def test_every_write_route_refuses_locked_data(app, logged_in, data, scope):
    pid, dm, aph, qid = data
    _lock(app, scope, pid)
    with app.app_context():
        before = (_db.session.scalar(select(Query.status).where(Query.id == qid)),
                  record(dm).row_version)
    for name, url, form in _write_routes(pid, dm, aph, qid):
        c = logged_in(ROUTE_ROLE[name])
        r = post(c, url, form)
        body = r.get_data(as_text=True)
        assert r.status_code == 409, (name, r.status_code, body[:300])
        assert "locked" in body, name
    # the services refuse too (no route can bypass them)
    with app.app_context():
        p = patient(pid)
        for call in (
            lambda: save(pid, "SCR", "DM", dict(DM, WEIGHT="30"), record_id=dm,
                         reason="x"),
            lambda: save(pid, "SCR", "MH", {}, complete=False),
            lambda: crf.remove(actor("investigator"), p, record(dm), "error"),
            lambda: queries.raise_query(actor("monitor"), p, record(dm), "SEX", "?"),
            lambda: queries.transition(actor("investigator"), p, _db.session.get(Query, qid),
                                       "answer", "ok"),
            lambda: sdv.verify(actor("monitor"), p, record(aph), None),
            lambda: signing.sign(actor("investigator"), p, "APH", PASSWORD),
        ):
            with pytest.raises(locks.Locked):
                call()
            _db.session.rollback()
        assert (_db.session.scalar(select(Query.status).where(Query.id == qid)),
                record(dm).row_version) == before
        assert record(dm).values["WEIGHT"] == "22.5"
    # the pages say so and offer no editing
    html = logged_in("investigator").get(f"/patients/{pid}/records/{dm}").get_data(
        as_text=True)
    assert "no change is possible" in html and 'value="complete"' not in html


def test_frozen_form_refuses_changes_but_monitoring_goes_on(app, logged_in, data):
    pid, dm, aph, qid = data
    lid = _lock(app, "form", pid, dm)
    inv = logged_in("investigator")
    r = post(inv, f"/patients/{pid}/records/{dm}",
             dict(DM, WEIGHT="30", action="save", reason="x", row_version="1"))
    assert r.status_code == 409 and "frozen" in r.get_data(as_text=True)
    with app.app_context():
        with pytest.raises(locks.Locked):
            crf.remove(actor("investigator"), patient(pid), record(dm), "error")
        _db.session.rollback()
        # other forms of the patient stay editable
        assert save(pid, "SCR", "MH", {}, complete=False).saved
        # queries and SDV go on on a frozen form
        queries.transition(actor("investigator"), patient(pid), _db.session.get(Query, qid),
                           "answer", "value confirmed")
        assert sdv.verify(actor("monitor"), patient(pid), record(dm), None) > 0
    html = inv.get(f"/patients/{pid}/records/{dm}").get_data(as_text=True)
    assert "This form is frozen" in html and 'value="complete"' not in html
    # unfreeze: a reason is required; then the data can change again
    dm_client = logged_in("data_manager")
    r = post(dm_client, f"/signing/locks/{lid}/unlock", {"reason": ""},
             follow_redirects=True)
    assert "Give a reason for unlocking" in r.get_data(as_text=True)
    assert post(dm_client, f"/signing/locks/{lid}/unlock",
                {"reason": "correction requested by monitor"}).status_code == 302
    with app.app_context():
        lk = _db.session.get(DataLock, lid)
        assert not lk.active and lk.unlocked_by_name == "Data_Manager ES01"
        assert lk.unlock_reason == "correction requested by monitor"
        assert audit_actions("lock.") == ["lock.form"]
        assert audit_actions("unlock.") == ["unlock.form"]
        assert save(pid, "SCR", "DM", dict(DM, WEIGHT="30"), record_id=dm,
                    reason="correction").saved


@pytest.mark.parametrize("role", tuple(ROLES) + ("safety",))
def test_only_data_managers_lock_and_unlock(app, logged_in, data, role):
    pid, dm, aph, qid = data
    if role == "safety":
        grant(app, "safety", "ES01")
    may = access.LOCK in access.PERMISSIONS[role]
    with app.app_context():
        p = patient(pid)
        for call in (lambda: locks.lock_patient(actor(role), p),
                     lambda: locks.freeze_form(actor(role), p, record(dm)),
                     lambda: locks.lock_site(actor(role), p.site)):
            if may:
                assert call().active
            else:
                with pytest.raises(access.Forbidden):
                    call()
    lid = _lock(app, "patient", pid) if not may else None
    c = logged_in(role)
    visible = access.PATIENT_VIEW in access.PERMISSIONS[role]
    if not may:
        assert post(c, f"/signing/{pid}/lock", {}).status_code == (403 if visible else 404)
        assert post(c, f"/signing/{pid}/records/{dm}/freeze", {}).status_code == \
            (403 if visible else 404)
        assert post(c, "/signing/site/lock", {}).status_code == 403
        assert post(c, f"/signing/locks/{lid}/unlock", {"reason": "x"}).status_code == \
            (403 if visible else 404)
        assert c.get("/signing/locks").status_code == 403
    else:
        assert c.get("/signing/locks").status_code == 200
    # a data manager of another site: 404
    other = logged_in("data_manager", "IT01")
    assert post(other, f"/signing/{pid}/lock", {}).status_code == 404
    with app.app_context():
        some = _db.session.scalars(select(DataLock)).first()
    assert post(other, f"/signing/locks/{some.id}/unlock", {"reason": "x"}).status_code == 404


def test_lock_pages_and_audit(app, logged_in, data):
    pid, dm, aph, qid = data
    c = logged_in("data_manager")
    assert 'id="lock-patient"' in c.get(f"/patients/{pid}").get_data(as_text=True)
    assert post(c, f"/signing/{pid}/lock", {"reason": "review done"}).status_code == 302
    assert post(c, f"/signing/{pid}/lock", {}, follow_redirects=True).status_code == 200
    assert post(c, "/signing/site/lock", {"reason": "close-out"}).status_code == 302
    page = c.get("/signing/locks").get_data(as_text=True)
    assert pid in page and "review done" in page and "close-out" in page
    with app.app_context():
        assert audit_actions("lock.") == ["lock.patient", "lock.site"]
        site_lock = _db.session.scalars(select(DataLock).where(
            DataLock.scope == "site")).one()
    assert post(c, f"/signing/locks/{site_lock.id}/unlock",
                {"reason": "reopened for queries"}).status_code == 302
    with app.app_context():
        assert audit_actions("unlock.") == ["unlock.site"]
        # the patient lock still holds
        with pytest.raises(locks.Locked):
            locks.assert_writable(patient(pid))
    nav = c.get("/").get_data(as_text=True)
    assert "/signing/locks" in nav
    assert "/signing/locks" not in logged_in("monitor").get("/").get_data(as_text=True)

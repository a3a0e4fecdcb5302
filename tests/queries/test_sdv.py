"""Source data verification: marking, clearing on change (visible, audited), progress."""
import pytest
from helpers import ROLES, post, register_patient
from mon_support import DM, actor, audit_actions, grant, patient, record, save
from sqlalchemy import select

from edc import access
from edc.errors import Forbidden, NotFound, ServiceError
from edc.extensions import db as _db
from edc.queries import sdv
from edc.queries.models import SdvMark


@pytest.fixture
def dm_record(app, world):
    pid = register_patient(app)
    with app.app_context():
        rid = save(pid, "SCR", "DM", DM).record.id
        _db.session.remove()
    return pid, rid


def test_verify_whole_form_then_change_clears_visibly(app, logged_in, dm_record):
    pid, rid = dm_record
    mon, inv = logged_in("monitor"), logged_in("investigator")
    url = f"/patients/{pid}/records/{rid}"
    assert 'id="sdv-whole"' in mon.get(url).get_data(as_text=True)
    assert 'id="sdv-items"' in mon.get(url).get_data(as_text=True)
    assert 'id="sdv-whole"' not in inv.get(url).get_data(as_text=True)
    r = post(mon, f"/queries/sdv/{pid}/{rid}", {"whole": "1", "next": url})
    assert r.status_code == 302
    html = mon.get(url).get_data(as_text=True)
    assert "Form verified against source" in html and "sdv-marker verified" in html
    assert 'id="sdv-items"' not in html  # nothing left to pick: no empty box
    with app.app_context():
        assert sdv.record_verified(record(rid), sdv.marks([rid])[rid])
        per_site, per_patient = sdv.progress([patient(pid).site_id])
        assert (per_site[patient(pid).site_id].complete,
                per_site[patient(pid).site_id].verified) == (1, 1)
        assert per_patient[patient(pid).id].percent == 100
        from edc.crf.catalog import catalog
        n_items = len(catalog().forms["DM"].entered)
        assert audit_actions("sdv.") == ["sdv.verify"] * n_items
        # the site changes one verified item
        out = save(pid, "SCR", "DM", dict(DM, WEIGHT="23"), record_id=rid,
                   reason="typo")
        assert out.saved
        m = _db.session.scalars(select(SdvMark).where(SdvMark.item == "WEIGHT")).one()
        assert m.cleared_at is not None and m.cleared_by_name == "Investigator ES01"
        assert not sdv.record_verified(record(rid), sdv.marks([rid])[rid])
        assert "sdv.cleared" in audit_actions("sdv.")
        per_site, _ = sdv.progress([patient(pid).site_id])
        assert per_site[patient(pid).site_id].verified == 0
    html = mon.get(url).get_data(as_text=True)
    assert "Verification cleared by change on" in html and "Form verified" not in html
    # re-verify the single item
    assert post(mon, f"/queries/sdv/{pid}/{rid}", {"item": "WEIGHT"}).status_code == 302
    with app.app_context():
        assert sdv.record_verified(record(rid), sdv.marks([rid])[rid])
    page = mon.get("/queries/sdv").get_data(as_text=True)
    assert "Forms complete: 1 · verified: 1" in page and pid in page


def test_single_items_and_refusals(app, logged_in, dm_record):
    pid, rid = dm_record
    with app.app_context():
        a, p, rec = actor("monitor"), patient(pid), record(rid)
        assert sdv.verify(a, p, rec, ["SEX"]) == 1
        assert sdv.verify(a, p, rec, ["SEX"]) == 0  # already verified
        assert not sdv.record_verified(rec, sdv.marks([rid])[rid])
        with pytest.raises(ServiceError):
            sdv.verify(a, p, rec, ["NOPE"])
        with pytest.raises(ServiceError):
            sdv.verify(a, p, rec, [])
        with pytest.raises(ServiceError):  # derived items are not verified
            sdv.verify(a, p, rec, ["BSA"])
        # an in-progress form can't be verified as a whole
        out = save(pid, "SCR", "MH", {}, complete=False)
        with pytest.raises(ServiceError):
            sdv.verify(a, p, out.record, None)
    other = register_patient(app)
    with app.app_context():  # a record of another patient
        with pytest.raises(NotFound):
            sdv.verify(actor("monitor"), patient(other), record(rid), ["SEX"])


@pytest.mark.parametrize("role", tuple(ROLES) + ("safety",))
def test_only_monitors_verify(app, logged_in, dm_record, role):
    pid, rid = dm_record
    if role == "safety":
        grant(app, "safety", "ES01")
    with app.app_context():
        if access.SDV in access.PERMISSIONS[role]:
            assert sdv.verify(actor(role), patient(pid), record(rid), None) > 0
        else:
            with pytest.raises(Forbidden):
                sdv.verify(actor(role), patient(pid), record(rid), None)
    c = logged_in(role)
    status = post(c, f"/queries/sdv/{pid}/{rid}", {"whole": "1"}).status_code
    visible = access.PATIENT_VIEW in access.PERMISSIONS[role]
    assert status == (302 if role == "monitor" else 403 if visible else 404), role
    assert post(logged_in("monitor", "IT01"), f"/queries/sdv/{pid}/{rid}",
                {"whole": "1"}).status_code == 404

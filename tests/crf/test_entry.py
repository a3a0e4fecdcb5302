"""Data entry through the web pages, on the trial's real forms."""
import re

from helpers import email_for, login, post, register_patient
from sqlalchemy import select

from edc.audit.models import AuditEvent
from edc.crf.models import FormRecord
from edc.queries.models import Query


def _form_page(c, url):
    r = c.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_data(as_text=True)


def _row_version(html):
    m = re.search(r'name="row_version"[^>]*value="(\d+)"', html) or \
        re.search(r'value="(\d+)"[^>]*name="row_version"', html)
    return m.group(1) if m else ""


DM = {"BRTHYR": "2016", "SEX": "F", "WEIGHT": "22,5", "HEIGHT": "118"}


def test_new_form_renders_every_form_in_every_language(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    from edc.crf.catalog import catalog
    with app.app_context():
        cat = catalog()
        pairs = [(v.code, oid) for v in cat.schedule.visits for oid in v.forms]
        pairs += [("LOG", oid) for oid in cat.schedule.log_forms]
    seen = set()
    for lang in ("en", "ar", "es", "it"):
        post(c, "/language", {"lang": lang})
        for visit, oid in pairs:
            if oid in seen and lang != "en":
                continue
            html = _form_page(c, f"/patients/{pid}/forms/{visit}/{oid}")
            assert f'lang="{lang}"' in html and 'id="crf-form"' in html
        seen |= {oid for _, oid in pairs}


def test_save_demographics_derives_bsa_and_audits(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM", dict(DM, action="save"))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        from edc.extensions import db
        rec = db.session.scalars(select(FormRecord)).one()
        assert rec.values["WEIGHT"] == "22.5"
        assert rec.values["BSA"] == "0.86"  # sqrt(118 * 22.5 / 3600) = 0.859
        assert rec.status == "in_progress"
        items = {e.item for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "crf.create"))}
        assert {"BRTHYR", "SEX", "WEIGHT", "HEIGHT", "BSA"} <= items


def _record(app):
    with app.app_context():
        from edc.extensions import db
        rec = db.session.scalars(select(FormRecord)).one()
        db.session.expunge(rec)
        return rec


def test_hard_range_refused_nothing_saved(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM", dict(DM, WEIGHT="900", action="save"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Nothing was saved" in html and 'aria-invalid="true"' in html
    with app.app_context():
        from edc.extensions import db
        assert db.session.scalar(select(FormRecord.id)) is None
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action.like("crf.%"))) is None


def test_complete_needs_required_items_or_missing_codes(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM", {"BRTHYR": "2016", "action": "complete"})
    assert r.status_code == 422 and "Required" in r.get_data(as_text=True)
    data = dict(DM, action="complete")
    del data["HEIGHT"]
    data.update({"HEIGHT__mc": "ND", "HEIGHT__mr": "child could not stand"})
    r = post(c, f"/patients/{pid}/forms/SCR/DM", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    rec = _record(app)
    assert rec.status == "complete"
    assert rec.missing["HEIGHT"] == {"code": "ND", "reason": "child could not stand"}
    assert rec.values["BSA"] is None


def test_change_after_completion_needs_reason_and_is_audited(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    post(c, f"/patients/{pid}/forms/SCR/DM", dict(DM, action="complete"))
    rec = _record(app)
    url = f"/patients/{pid}/records/{rec.id}"
    html = _form_page(c, url)
    rv = _row_version(html)
    r = post(c, url, dict(DM, WEIGHT="23", row_version=rv, action="complete"))
    assert r.status_code == 422 and "give a reason" in r.get_data(as_text=True)
    r = post(c, url, dict(DM, WEIGHT="23", row_version=rv, action="complete",
                          reason="scale recalibrated"))
    assert r.status_code == 302
    with app.app_context():
        from edc.extensions import db
        ev = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "crf.update", AuditEvent.item == "WEIGHT")).one()
        assert (ev.old_value, ev.new_value, ev.reason) == ('"22.5"', '"23"',
                                                           "scale recalibrated")
        assert ev.user_name == "Investigator ES01"
    hist = _form_page(c, f"{url}/history/WEIGHT")
    assert "scale recalibrated" in hist and "22.5" in hist and "23" in hist


def test_stale_save_refused_names_who_and_keeps_input(app, world):
    pid = register_patient(app)
    a, b = app.test_client(), app.test_client()
    login(a, email_for("investigator", "ES01"))
    login(b, email_for("coordinator", "ES01"))
    post(a, f"/patients/{pid}/forms/SCR/DM", dict(DM, action="save"))
    rec = _record(app)
    url = f"/patients/{pid}/records/{rec.id}"
    rv_a, rv_b = _row_version(_form_page(a, url)), _row_version(_form_page(b, url))
    assert post(a, url, dict(DM, WEIGHT="24", row_version=rv_a, action="save")
                ).status_code == 302
    r = post(b, url, dict(DM, WEIGHT="25", row_version=rv_b, action="save"))
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "Coordinator ES01" not in html.split('id="stale"')[0][-10:]
    assert "Investigator ES01" in html and "Not saved" in html
    assert 'value="25"' in html  # b's entry is kept on the page
    assert _record(app).values["WEIGHT"] == "24"  # a's save stands


def test_expected_range_raises_query_and_change_is_noted(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    from edc.crf.catalog import catalog
    with app.app_context():
        item = catalog().forms["DM"].items["WEIGHT"]
        lo, hi = item.expected
    r = post(c, f"/patients/{pid}/forms/SCR/DM",
             dict(DM, WEIGHT=str(hi + 1), HEIGHT="180", action="save"))
    assert r.status_code == 302
    rec = _record(app)
    with app.app_context():
        from edc.extensions import db
        q = db.session.scalars(select(Query).where(Query.item == "WEIGHT")).one()
        assert q.status == "open" and q.kind == "auto" and q.check == "EXPECTED"
    url = f"/patients/{pid}/records/{rec.id}"
    html = _form_page(c, url)
    assert "query-marker" in html and "expected range" in html
    post(c, url, dict(DM, row_version=_row_version(html), action="save"))
    with app.app_context():
        from edc.extensions import db
        q = db.session.scalars(select(Query).where(Query.item == "WEIGHT")).one()
        assert q.status == "open" and q.data_changed_at is not None
        assert [m.action for m in q.messages] == ["raise", "data_changed"]


def test_chain_of_identity_mismatch_refused_and_audited(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    from edc.crf.catalog import catalog
    with app.app_context():
        cat = catalog()
        ex = cat.forms["EX"]
        visit = next(v.code for v in cat.schedule.visits if "EX" in v.forms)
        aph_visit = next(v.code for v in cat.schedule.visits if "APH" in v.forms)
    r = post(c, f"/patients/{pid}/forms/{aph_visit}/APH",
             {"APHPRODID": "MIL-ES01-0001-A", "action": "save"})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    check = next(ch for ch in ex.checks if ch.action == "refuse")
    r = post(c, f"/patients/{pid}/forms/{visit}/EX",
             {check.item: "MIL-XX99-9999-Z", "action": "save"})
    assert r.status_code == 422
    assert "refusal" in r.get_data(as_text=True)
    with app.app_context():
        from edc.extensions import db
        assert db.session.scalars(select(FormRecord).where(
            FormRecord.form_oid == "EX")).first() is None
        ev = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "crf.refused")).one()
        assert ev.item == check.item and "MIL-XX99-9999-Z" in ev.new_value


def test_derive_endpoint_computes_live(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM/derive", DM)
    assert r.status_code == 200
    assert r.get_json()["derived"]["BSA"] == "0.86"
    assert post(c, f"/patients/{pid}/forms/SCR/DM").status_code in (302, 422)


def test_arabic_digits_and_datetime_in_site_zone(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM", dict(DM, WEIGHT="٢٢٫٥", action="save"))
    assert r.status_code == 302
    assert _record(app).values["WEIGHT"] == "22.5"


def test_crf_routes_access(app, logged_in):
    pid = register_patient(app)
    inv = logged_in("investigator")
    post(inv, f"/patients/{pid}/forms/SCR/DM", dict(DM, action="save"))
    rec = _record(app)
    url = f"/patients/{pid}/records/{rec.id}"
    expected_get = {"investigator": 200, "coordinator": 200, "monitor": 200,
                    "data_manager": 200, "statistician": 404, "admin": 404}
    for role, status in expected_get.items():
        c = logged_in(role)
        assert c.get(url).status_code == status, role
        post_status = post(c, url, dict(DM, action="save")).status_code
        assert post_status == (404 if status == 404 else
                               403 if role in ("monitor", "data_manager") else 409), role
        # other site: 404 for everyone
        other = logged_in(role, "IT01")
        assert other.get(url).status_code == 404
        assert post(other, url, dict(DM, action="save")).status_code == 404
        assert other.get(f"/patients/{pid}/forms/SCR/DM").status_code == 404
    # monitors see the form read-only
    html = logged_in("monitor").get(url).get_data(as_text=True)
    assert "disabled" in html and 'value="complete"' not in html


def test_patient_timeline_and_site_overdue_page(app, logged_in):
    pid = register_patient(app)  # registered 2026-01-05: screening window long past
    c = logged_in("investigator")
    post(c, f"/patients/{pid}/forms/SCR/DM", dict(DM, action="complete"))
    html = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert 'id="visit-SCR"' in html and "visit-overdue" in html or "visit-in_progress" in html
    assert "Date not yet known" in html  # infusion-anchored visits before D0 is known
    page = c.get("/site/overdue")
    assert page.status_code == 200 and pid in page.get_data(as_text=True)
    assert logged_in("statistician").get("/site/overdue").status_code == 403

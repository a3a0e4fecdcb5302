"""Manual and automatic queries: workflow, permissions per role, audit, thread, lists."""
from datetime import timedelta

import pytest
from helpers import ROLES, post, register_patient
from mon_support import DM, actor, audit_actions, grant, patient, save
from sqlalchemy import select

from edc import access
from edc.crf.models import FormRecord
from edc.errors import Conflict, Forbidden, NotFound, ServiceError
from edc.extensions import db as _db
from edc.queries import services
from edc.queries.models import Query

STATES = ("open", "answered", "closed", "cancelled")
ALL_ROLES = tuple(ROLES) + ("safety",)


@pytest.fixture
def dm_record(app, world):
    """A patient at ES01 with a complete demographics record; returns (pid, record id)."""
    pid = register_patient(app)
    with app.app_context():
        out = save(pid, "SCR", "DM", DM)
        assert out.saved, out.result
        rid = out.record.id
        _db.session.remove()
    return pid, rid


def _raise(app, pid, rid, item="WEIGHT", text="Please check the weight against source.",
           role="monitor"):
    with app.app_context():
        p = patient(pid)
        rec = _db.session.get(FormRecord, rid)
        q = services.raise_query(actor(role), p, rec, item, text)
        qid = q.id
        _db.session.remove()
    return qid


def test_full_workflow_through_the_web(app, logged_in, dm_record):
    pid, rid = dm_record
    mon, inv = logged_in("monitor"), logged_in("investigator")
    form_url = f"/patients/{pid}/records/{rid}"
    # the monitor sees a raise form on the record page; the investigator does not
    assert 'id="raise-query"' in mon.get(form_url).get_data(as_text=True)
    assert 'id="raise-query"' not in inv.get(form_url).get_data(as_text=True)
    r = post(mon, f"/queries/raise/{pid}/{rid}",
             {"item": "WEIGHT", "text": "Source says 23 kg.", "next": form_url})
    assert r.status_code == 302
    with app.app_context():
        q = _db.session.scalars(select(Query)).one()
        assert (q.kind, q.status, q.item) == ("manual", "open", "WEIGHT")
        qid = q.id
    # marked on the form, answerable from the form
    html = inv.get(form_url).get_data(as_text=True)
    assert "query-marker" in html and "Source says 23 kg." in html
    assert f'action="/queries/{qid}/answer"' in html
    assert post(inv, f"/queries/{qid}/answer", {"text": "Checked: 22.5 is right.",
                                                "next": form_url}).status_code == 302
    # the site may not close; the monitor closes
    assert post(inv, f"/queries/{qid}/close", {}).status_code == 403
    page = mon.get(f"/queries/{qid}").get_data(as_text=True)
    assert "Checked: 22.5 is right." in page and "Answered" in page
    assert post(mon, f"/queries/{qid}/close", {"text": "Thanks."}).status_code == 302
    with app.app_context():
        q = _db.session.get(Query, qid)
        assert q.status == "closed"
        thread = [(m.action, m.user_name, m.role) for m in q.messages]
        assert thread == [("raise", "Monitor ES01", "monitor"),
                          ("answer", "Investigator ES01", "investigator"),
                          ("close", "Monitor ES01", "monitor")]
        assert [m.at for m in q.messages] == sorted(m.at for m in q.messages)
        assert audit_actions("query.") == ["query.raise", "query.answer", "query.close"]
    assert "query-marker" not in inv.get(form_url).get_data(as_text=True)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_transition_from_every_state_per_role(app, world, dm_record, role):
    """The role table: sites answer; monitors and data managers close, re-open, cancel;
    nobody else does anything. States: only the workflow's transitions."""
    pid, rid = dm_record
    if role == "safety":
        grant(app, "safety", "ES01")
    qid = _raise(app, pid, rid)
    expected_state = {"answer": {"open": "answered"},
                      "close": {"answered": "closed"},
                      "reopen": {"answered": "open", "closed": "open"},
                      "cancel": {"open": "cancelled", "answered": "cancelled"}}
    with app.app_context():
        a = actor(role)
        p = patient(pid)
        for action, (_frm, _to, perm, _req) in services.TRANSITIONS.items():
            for state in STATES:
                q = _db.session.get(Query, qid)
                q.status, q.data_changed_at = state, None
                _db.session.commit()
                allowed_role = perm in access.PERMISSIONS[role]
                target = expected_state[action].get(state)
                if not allowed_role:
                    with pytest.raises(Forbidden):
                        services.transition(a, p, q, action, "a message")
                elif target is None:
                    with pytest.raises(Conflict):
                        services.transition(a, p, q, action, "a message")
                else:
                    services.transition(a, p, q, action, "a message")
                    assert _db.session.get(Query, qid).status == target, (action, state)
                _db.session.rollback()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_raise_per_role(app, world, dm_record, role):
    pid, rid = dm_record
    if role == "safety":
        grant(app, "safety", "ES01")
    with app.app_context():
        rec = _db.session.get(FormRecord, rid)
        if access.QUERY_MANAGE in access.PERMISSIONS[role]:
            assert services.raise_query(actor(role), patient(pid), rec, "SEX", "Sex?").id
        else:
            with pytest.raises(Forbidden):
                services.raise_query(actor(role), patient(pid), rec, "SEX", "Sex?")


def test_web_routes_per_role_and_other_site(app, logged_in, dm_record):
    pid, rid = dm_record
    qid = _raise(app, pid, rid)
    grant(app, "safety", "ES01")
    can_see = {"investigator", "coordinator", "monitor", "data_manager"}
    for role in ALL_ROLES:
        c = logged_in(role)
        assert c.get(f"/queries/{qid}").status_code == (200 if role in can_see else 404), role
        assert c.get("/queries/").status_code == (200 if role in can_see else 403), role
        r = post(c, f"/queries/{qid}/answer", {"text": "x"})
        assert r.status_code == {"investigator": 302, "coordinator": 409}.get(
            role, 403 if role in can_see else 404), role
        if role in ("monitor", "data_manager"):
            assert post(c, f"/queries/raise/{pid}/{rid}", {"item": "SEX", "text": "?"}
                        ).status_code == 302
        else:
            assert post(c, f"/queries/raise/{pid}/{rid}", {"item": "SEX", "text": "?"}
                        ).status_code == (403 if role in can_see else 404), role
        if role != "statistician" and role != "admin":
            other = logged_in(role, "IT01") if role != "safety" else None
            if other is not None:
                assert other.get(f"/queries/{qid}").status_code == 404
                assert post(other, f"/queries/{qid}/close", {}).status_code == 404
                assert post(other, f"/queries/raise/{pid}/{rid}",
                            {"item": "SEX", "text": "?"}).status_code == 404


def test_messages_required_cancel_needs_reason(app, logged_in, dm_record):
    pid, rid = dm_record
    qid = _raise(app, pid, rid)
    with app.app_context():
        with pytest.raises(ServiceError):
            services.transition(actor("monitor"), patient(pid), _db.session.get(Query, qid),
                                "cancel", "  ")
        with pytest.raises(ServiceError):
            services.transition(actor("investigator"), patient(pid),
                                _db.session.get(Query, qid), "answer", "")
        with pytest.raises(ServiceError):
            services.raise_query(actor("monitor"), patient(pid),
                                 _db.session.get(Query, qid).record, "NOPE", "x")
        with pytest.raises(NotFound):
            services.transition(actor("monitor"), patient(pid), _db.session.get(Query, qid),
                                "explode", "x")
    mon = logged_in("monitor")
    r = post(mon, f"/queries/{qid}/cancel", {"text": ""}, follow_redirects=True)
    assert r.status_code == 200 and "Give a reason for cancelling" in r.get_data(as_text=True)
    assert post(mon, f"/queries/{qid}/cancel", {"text": "Raised in error."}).status_code == 302
    with app.app_context():
        q = _db.session.get(Query, qid)
        assert q.status == "cancelled" and q.messages[-1].text == "Raised in error."
        from edc.audit.models import AuditEvent
        ev = _db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "query.cancel")).one()
        assert ev.reason == "Raised in error." and ev.old_value == '"open"'


def test_correcting_the_item_answers_the_query(app, logged_in, dm_record):
    pid, rid = dm_record
    qid = _raise(app, pid, rid)
    with app.app_context():
        out = save(pid, "SCR", "DM", dict(DM, WEIGHT="23"), record_id=rid,
                   reason="query: source says 23")
        assert out.saved
        q = _db.session.get(Query, qid)
        assert q.status == "answered" and q.messages[-1].action == "corrected"
    html = logged_in("monitor").get(f"/queries/{qid}").get_data(as_text=True)
    assert "The data of this item were changed." in html


def test_auto_query_closable_once_data_changed(app, logged_in, world):
    pid = register_patient(app)
    with app.app_context():
        out = save(pid, "SCR", "DM", dict(DM, WEIGHT="140", HEIGHT="118"), complete=False)
        rid = out.record.id
        q = _db.session.scalars(select(Query).where(Query.kind == "auto")).first()
        assert q is not None and q.status == "open"
        with pytest.raises(Conflict):  # the condition still applies: answer first
            services.transition(actor("monitor"), patient(pid), q, "close", "")
        save(pid, "SCR", "DM", DM, record_id=rid, complete=False)
        q = _db.session.get(Query, q.id)
        assert q.data_changed_at is not None and q.status == "open"
        assert "close" in services.allowed_actions(actor("monitor").user, q)
        services.transition(actor("monitor"), patient(pid), q, "close", "")
        assert _db.session.get(Query, q.id).status == "closed"


def test_lists_filters_and_counts(app, logged_in, dm_record):
    pid, rid = dm_record
    q1 = _raise(app, pid, rid, "WEIGHT", "weight?")
    q2 = _raise(app, pid, rid, "SEX", "sex?")
    with app.app_context():
        q = _db.session.get(Query, q2)
        q.created_at = q.created_at - timedelta(days=20)
        _db.session.commit()
    c = logged_in("coordinator")
    assert "weight?" in c.get("/queries/").get_data(as_text=True)
    body = c.get("/queries/?age=15-30").get_data(as_text=True)
    assert "sex?" in body and "weight?" not in body
    body = c.get("/queries/?age=0-7&form=DM&visit=SCR&patient=" + pid).get_data(as_text=True)
    assert "weight?" in body and "sex?" not in body
    assert "No queries match" in c.get("/queries/?form=AE").get_data(as_text=True)
    assert "No queries match" in c.get("/queries/?visit=D28").get_data(as_text=True)
    assert "No queries match" in c.get("/queries/?state=closed").get_data(as_text=True)
    with app.app_context():
        services.transition(actor("investigator"), patient(pid), _db.session.get(Query, q1),
                            "answer", "ok")
        assert [q.id for q in services.list_queries([patient(pid).site_id],
                                                     state="answered")] == [q1]
        assert services.age_band_counts([patient(pid).site_id])[patient(pid).site_id] == \
            {"0-7": 1, "8-14": 0, "15-30": 1, "31+": 0}
        counts = services.patient_counts(patient(pid).id)
        assert counts.by_visit == {"SCR": {"open": 1, "answered": 1}}
        assert counts.by_record == services.open_counts(list(counts.by_record)) and \
            sum(counts.by_record.values()) == 2
    # counts on the patient timeline
    page = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Queries: 1 open, 1 answered" in page
    assert logged_in("statistician").get("/queries/").status_code == 403


def test_my_queries_across_the_monitors_sites_only(app, logged_in, world):
    pid_es = register_patient(app, "ES01")
    pid_it = register_patient(app, "IT01")
    with app.app_context():
        r_es = save(pid_es, "SCR", "DM", DM).record.id
        r_it = save(pid_it, "SCR", "DM", DM).record.id
    _raise(app, pid_es, r_es, text="question at ES01")
    with app.app_context():
        services.raise_query(actor("monitor", "IT01"), patient(pid_it),
                             _db.session.get(FormRecord, r_it), "SEX", "question at IT01")
    mon_es = logged_in("monitor", "ES01")
    body = mon_es.get("/queries/mine").get_data(as_text=True)
    assert "question at ES01" in body and "question at IT01" not in body
    # a monitor assigned to both sites sees both
    grant(app, "monitor", "IT01", email="monitor.es01@test.example.org")
    body = logged_in("monitor", "ES01").get("/queries/mine").get_data(as_text=True)
    assert "question at ES01" in body and "question at IT01" in body
    body = logged_in("monitor", "ES01").get("/queries/mine?raised=me").get_data(as_text=True)
    assert "question at ES01" in body and "question at IT01" not in body
    assert logged_in("investigator").get("/queries/mine").status_code == 403

"""The monitor dashboard, site scoping, and a monitor's end-to-end review at IT01."""
import re
from datetime import timedelta

import pytest
from helpers import PASSWORD, ROLES, post, register_patient
from mon_support import APH, DM, actor, patient, record, save
from sqlalchemy import select

from edc.extensions import db as _db
from edc.queries import services as queries
from edc.queries.models import Query
from edc.signing.models import Signature

AE = {"AETERM": "Sepsis", "AECRSIC": "no", "AESTDAT": "2026-01-20", "AEONGO": "true",
      "AETOXGR": "4", "AESER": "true", "AESCRIT": "life_threatening", "AESI": "false",
      "AEAWDAT": "2026-01-21"}


def test_monitor_at_it01_works_through_a_patient_end_to_end(app, logged_in, world):
    """Review, query, site answer, close, SDV, investigator signature — all on the web."""
    pid = register_patient(app, "IT01")
    inv, mon = logged_in("investigator", "IT01"), logged_in("monitor", "IT01")
    # the site enters the apheresis visit
    r = post(inv, f"/patients/{pid}/forms/APH/APH", dict(APH, APHCD3="8000",
                                                         action="complete"))
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    rid = int(r.headers["Location"].rsplit("/", 1)[1])
    url = f"/patients/{pid}/records/{rid}"
    # review: the dashboard and the patient page show the open work
    board = mon.get("/monitoring/").get_data(as_text=True)
    assert 'id="site-IT01"' in board and 'id="site-ES01"' not in board
    assert mon.get(f"/patients/{pid}").status_code == 200
    html = mon.get(url).get_data(as_text=True)
    assert "query-marker" in html  # the automatic query of the soft range on APHCD3
    # query
    assert post(mon, f"/queries/raise/{pid}/{rid}",
                {"item": "APHDAT", "text": "Source: apheresis on 11 Jan?", "next": url}
                ).status_code == 302
    with app.app_context():
        manual = _db.session.scalars(select(Query).where(Query.kind == "manual")).one()
        auto = _db.session.scalars(select(Query).where(Query.kind == "auto")).one()
        qid, aid = manual.id, auto.id
    assert "Source: apheresis on 11 Jan?" in inv.get("/queries/").get_data(as_text=True)
    # the site answers one from the form and corrects the other value
    assert post(inv, f"/queries/{qid}/answer", {"text": "10 Jan is right (lab sheet)."}
                ).status_code == 302
    rv = re.search(r'name="row_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="row_version"',
                   inv.get(url).get_data(as_text=True))
    r = post(inv, url, dict(APH, APHCD3="800", action="complete",
                            row_version=rv.group(1) or rv.group(2),
                            reason="transcription error"))
    assert r.status_code == 302
    # close both
    assert post(mon, f"/queries/{qid}/close", {"text": "OK"}).status_code == 302
    assert post(mon, f"/queries/{aid}/close", {"text": "Corrected."}).status_code == 302
    with app.app_context():
        assert {q.status for q in _db.session.scalars(select(Query))} == {"closed"}
    # SDV
    assert post(mon, f"/queries/sdv/{pid}/{rid}", {"whole": "1"}).status_code == 302
    assert "Form verified against source" in mon.get(url).get_data(as_text=True)
    # investigator signature
    assert post(inv, f"/signing/{pid}/sign/APH", {"password": PASSWORD}).status_code == 302
    with app.app_context():
        s = _db.session.scalars(select(Signature)).one()
        assert s.status == "valid" and s.signer_name == "Investigator IT01"
    page = mon.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Signed by Investigator IT01" in page
    board = mon.get("/monitoring/").get_data(as_text=True)
    section = board.split('id="site-IT01"')[1]
    assert "Backlog: 0 complete forms not verified" in section
    assert "/queries/sdv?site=IT01" in section


def test_dashboard_figures(app, logged_in, world):
    pid = register_patient(app, "ES01")
    with app.app_context():
        dm = save(pid, "SCR", "DM", DM).record.id
        save(pid, "APH", "APH", APH)
        q = queries.raise_query(actor("monitor"), patient(pid), record(dm), "SEX", "?")
        q.created_at = q.created_at - timedelta(days=40)
        _db.session.commit()
        queries.raise_query(actor("monitor"), patient(pid), record(dm), "WEIGHT", "?")
        save(pid, "LOG", "AE", AE, complete=False)
    html = logged_in("monitor").get("/monitoring/").get_data(as_text=True)
    sec = html.split('id="site-ES01"')[1]
    assert re.search(r'band-0-7"><bdi>1<', sec) and re.search(r'band-31\+"><bdi>1<', sec)
    assert re.search(r'open-total"><bdi>2<', sec)
    assert "Backlog: 2 complete forms not verified" in sec
    assert re.search(r'unsigned-count"><bdi>1<', sec)  # the complete APH visit
    assert "#visit-APH" in sec
    assert re.search(r'overdue-count"><bdi>[1-9]', sec)  # registered 2026-01-05: SCR late
    assert "Serious adverse event" in sec and pid in sec
    # the data manager has the dashboard too
    assert 'id="site-ES01"' in logged_in("data_manager").get("/monitoring/").get_data(
        as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_and_nav_per_role(app, logged_in, world, role):
    c = logged_in(role)
    allowed = role in ("monitor", "data_manager")
    assert c.get("/monitoring/").status_code == (200 if allowed else 403)
    nav = c.get("/").get_data(as_text=True)
    assert ('href="/monitoring/"' in nav) == allowed
    assert ('href="/queries/"' in nav) == (role in ("investigator", "coordinator", "monitor",
                                                    "data_manager"))


def test_monitor_cannot_see_sites_not_assigned(app, logged_in, world):
    pid_it = register_patient(app, "IT01")
    with app.app_context():
        rid = save(pid_it, "SCR", "DM", DM).record.id
        qid = queries.raise_query(actor("monitor", "IT01"), patient(pid_it), record(rid),
                                  "SEX", "?").id
    mon = logged_in("monitor", "ES01")
    assert 'id="site-IT01"' not in mon.get("/monitoring/").get_data(as_text=True)
    for url in (f"/patients/{pid_it}", f"/patients/{pid_it}/records/{rid}",
                f"/queries/{qid}", f"/signing/{pid_it}/sign/SCR"):
        assert mon.get(url).status_code == 404, url
    assert post(mon, f"/queries/sdv/{pid_it}/{rid}", {"whole": "1"}).status_code == 404
    assert post(mon, f"/queries/{qid}/close", {}).status_code == 404
    assert pid_it not in mon.get("/queries/mine").get_data(as_text=True)
    assert pid_it not in mon.get("/queries/").get_data(as_text=True)
    assert pid_it not in mon.get("/queries/sdv").get_data(as_text=True)
    assert mon.get("/queries/sdv?site=IT01").status_code == 404
    assert pid_it in logged_in("monitor", "IT01").get("/queries/sdv?site=IT01").get_data(
        as_text=True)
    assert logged_in("statistician").get("/queries/sdv").status_code == 403

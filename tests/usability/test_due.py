"""'What's due this week' on the home page: scoping, dates in the site's zone, links."""
from datetime import date, datetime, timezone

import pytest
from helpers import register_patient
from mon_support import APH, DM, save, user

from edc.extensions import db as _db
from edc.schedule.due import due_this_week

UTC = timezone.utc
# register_patient registers on 2026-01-05. Screening (SCR: ELIG, IC, DM, MH) is due that
# day, window 0 before / 28 after: 2026-01-05 … 2026-02-02. Apheresis (APH): day 7,
# 7 before / 21 after: due 2026-01-12, window 2026-01-05 … 2026-02-02.


def rows_at(when, role="investigator", site="ES01"):
    rows, truncated = due_this_week(user(role, site), now=when)
    return [(r.patient.pseudonym, r.visit.code, r.oid, r.kind) for r in rows], rows


@pytest.fixture
def es(app, world):
    return register_patient(app)


def test_window_open_upcoming_overdue_and_nothing(app, es):
    with app.app_context():
        got, rows = rows_at(datetime(2026, 1, 20, 12, tzinfo=UTC))
        assert {(v, f) for _, v, f, _k in got} == {("SCR", "ELIG"), ("SCR", "IC"),
                                                    ("SCR", "DM"), ("SCR", "MH"),
                                                    ("APH", "APH")}
        assert {k for *_, k in got} == {"open"}
        assert rows[0].due == date(2026, 1, 5) and rows[0].latest == date(2026, 2, 2)
        assert all(r.state.state == "not_started" and r.record is None for r in rows)
        # window opens within 7 days: upcoming
        got, _ = rows_at(datetime(2025, 12, 29, 12, tzinfo=UTC))
        assert got and {k for *_, k in got} == {"upcoming"}
        # opens in 8 days: not listed
        got, _ = rows_at(datetime(2025, 12, 28, 12, tzinfo=UTC))
        assert got == []
        # window closed: overdue, the longest overdue first, with days late
        got, rows = rows_at(datetime(2026, 2, 10, 12, tzinfo=UTC))
        assert {k for *_, k in got} == {"overdue"} and rows[0].days_late == 8


def test_complete_and_in_progress_forms(app, es):
    with app.app_context():
        save(es, "APH", "APH", APH)                    # complete: no longer due
        dm = save(es, "SCR", "DM", DM, complete=False).record.id
        _db.session.remove()
        got, rows = rows_at(datetime(2026, 1, 20, 12, tzinfo=UTC))
        assert ("APH", "APH") not in {(v, f) for _, v, f, _k in got}
        row = next(r for r in rows if r.oid == "DM")
        assert row.record.id == dm and row.state.state == "in_progress"


def test_today_is_the_sites_date(app, es):
    """23:30 UTC on 2 February is already 3 February in Madrid: the window has closed."""
    with app.app_context():
        got, _ = rows_at(datetime(2026, 2, 2, 22, 30, tzinfo=UTC))  # 23:30 in Madrid
        assert {k for *_, k in got} == {"open"}
        got, rows = rows_at(datetime(2026, 2, 2, 23, 30, tzinfo=UTC))  # 00:30 on 3 Feb
        assert {k for *_, k in got} == {"overdue"}
        assert rows[0].today == date(2026, 2, 3)


def test_only_the_users_sites(app, world, es):
    it = register_patient(app, "IT01")
    with app.app_context():
        when = datetime(2026, 1, 20, 12, tzinfo=UTC)
        assert {p for p, *_ in rows_at(when)[0]} == {es}
        assert {p for p, *_ in rows_at(when, site="IT01")[0]} == {it}
        # roles that do not enter data have no list
        assert rows_at(when, role="monitor")[0] == []
        assert rows_at(when, role="statistician")[0] == []


def test_inactive_patients_left_out(app, es):
    from mon_support import patient
    with app.app_context():
        patient(es).status = "withdrawn"
        _db.session.commit()
        assert rows_at(datetime(2026, 1, 20, 12, tzinfo=UTC))[0] == []


def test_home_page_lists_due_forms_with_links(app, logged_in, world):
    pid = register_patient(app)
    it = register_patient(app, "IT01")
    html = logged_in("investigator").get("/").get_data(as_text=True)
    assert 'id="due-week"' in html
    # registered 2026-01-05 and nothing entered: overdue by now (or open, if run early)
    assert pid in html and it not in html
    assert f"/patients/{pid}/forms/SCR/DM" in html
    assert "fs-not_started" in html and "Europe/Madrid" in html
    assert "due-legend" in html


def test_home_page_empty_state_and_no_list_for_monitors(app, logged_in, world):
    html = logged_in("investigator").get("/").get_data(as_text=True)
    assert "Nothing is due this week and nothing is overdue." in html
    assert 'id="due-week"' not in logged_in("monitor").get("/").get_data(as_text=True)

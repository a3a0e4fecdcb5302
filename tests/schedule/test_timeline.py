"""Per-patient visit timelines (edc.schedule.definitions.timeline): due dates, windows and
visit statuses, on the real forms/schedule.yaml and on the example definition set."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from edc.crf.definitions import load_catalog
from edc.schedule.definitions import (
    Anchor,
    Schedule,
    VisitDef,
    anchor_dates,
    form_status,
    timeline,
)

ROOT = Path(__file__).resolve().parents[2]
REAL_FORMS = ROOT / "forms"
EXAMPLE_DIR = ROOT / "tests" / "crf" / "example_forms"

REGISTERED = date(2026, 1, 5)
INFUSION = date(2026, 2, 1)


@dataclass
class Patient:
    registered_on: date | None = REGISTERED
    enrolled_on: date | None = None


@dataclass
class Rec:
    visit_code: str | None
    form_oid: str
    status: str = "complete"
    values: dict = field(default_factory=dict)


def by_code(statuses) -> dict:
    return {s.visit.code: s for s in statuses}


@pytest.fixture(scope="module")
def real():
    return load_catalog(REAL_FORMS).schedule


@pytest.fixture(scope="module")
def example():
    return load_catalog(EXAMPLE_DIR).schedule


def ex(day: date | str | None, visit="D0", status="complete") -> Rec:
    return Rec(visit, "EX", status, {"EXSTDAT": day.isoformat() if isinstance(day, date)
                                     else day})


# --------------------------------------------------------------------------- real schedule
def test_real_schedule_windows(real):
    d28 = real.visit("D28")
    assert (d28.anchor, d28.day, d28.before, d28.after) == ("infusion", 28, 4, 4)
    m3 = real.visit("M3")
    assert (m3.anchor, m3.day, m3.before, m3.after) == ("infusion", 90, 14, 14)
    y5 = real.visit("Y5")
    assert (y5.anchor, y5.day, y5.before, y5.after) == ("infusion", 1825, 60, 60)
    scr = real.visit("SCR")
    assert (scr.anchor, scr.day, scr.before, scr.after) == ("registration", 0, 0, 28)
    assert scr.forms == ("ELIG", "IC", "DM", "MH")
    assert real.anchors["infusion"] == Anchor("infusion", form="EX", item="EXSTDAT",
                                              pick="first")
    assert real.anchors["registration"].patient_field == "registered_on"


def test_real_due_dates_and_windows(real):
    records = [ex(INFUSION), ex(date(2026, 2, 3), visit="D0")]
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 10)))
    expected = {
        "SCR": (date(2026, 1, 5), date(2026, 1, 5), date(2026, 2, 2)),
        "APH": (date(2026, 1, 12), date(2026, 1, 5), date(2026, 2, 2)),
        "LD": (date(2026, 1, 26), date(2026, 1, 26), date(2026, 1, 29)),
        "D0": (date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 8)),
        "D7": (date(2026, 2, 8), date(2026, 2, 7), date(2026, 2, 9)),
        "D14": (date(2026, 2, 15), date(2026, 2, 13), date(2026, 2, 17)),
        "D28": (date(2026, 3, 1), date(2026, 2, 25), date(2026, 3, 5)),
        "M3": (date(2026, 5, 2), date(2026, 4, 18), date(2026, 5, 16)),
        "Y5": (date(2031, 1, 31), date(2030, 12, 2), date(2031, 4, 1)),
    }
    for code, (due, earliest, latest) in expected.items():
        s = t[code]
        assert (s.due, s.earliest, s.latest) == (due, earliest, latest), code
    # the screening window is 28 days
    assert (t["SCR"].latest - t["SCR"].earliest).days == 28
    # every visit of the schedule is in the timeline, in order
    assert [s.visit.code for s in timeline(real, Patient(), records, date(2026, 2, 10))] \
        == [v.code for v in real.visits]


def test_real_windows_follow_the_definition(real):
    t = timeline(real, Patient(), [ex(INFUSION)], date(2026, 2, 10))
    for s in t:
        v = s.visit
        base = REGISTERED if v.anchor == "registration" else INFUSION
        assert s.due == base + timedelta(days=v.day)
        assert s.earliest == s.due - timedelta(days=v.before)
        assert s.latest == s.due + timedelta(days=v.after)


def test_real_statuses_before_infusion(real):
    t = by_code(timeline(real, Patient(), [], date(2026, 1, 20)))
    assert t["SCR"].status == "due"
    assert t["APH"].status == "due"
    for code in ("LD", "D0", "ACUTE", "D7", "D28", "M3", "Y5", "Y15"):
        s = t[code]
        assert s.status == "pending_anchor", code
        assert (s.due, s.earliest, s.latest) == (None, None, None)
    assert [(f.oid, f.status, f.count) for f in t["SCR"].forms] == [
        ("ELIG", "not_started", 0), ("IC", "not_started", 0), ("DM", "not_started", 0),
        ("MH", "not_started", 0)]


def test_real_statuses_after_infusion(real):
    records = [ex(INFUSION), ex(date(2026, 2, 3), visit="D0")]
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 10)))
    assert t["SCR"].status == "overdue"        # window ended 2026-02-02, nothing entered
    assert t["D0"].status == "complete"
    assert [(f.oid, f.status, f.count) for f in t["D0"].forms] == [("EX", "complete", 2)]
    assert t["D7"].status == "overdue"         # window 02-07..02-09
    assert t["D14"].status == "not_due"        # window opens 02-13
    assert t["ACUTE"].status == "due"          # 02-01..03-03
    assert t["D28"].status == "not_due"
    assert t["Y5"].status == "not_due"
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 13)))
    assert t["D14"].status == "due"
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 17)))
    assert t["D14"].status == "due"            # the last day of the window
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 18)))
    assert t["D14"].status == "overdue"


def test_real_infusion_anchor_is_the_first_fraction(real):
    # the records are not in date order; the first date wins
    records = [ex(date(2026, 2, 3), visit="D0"), ex(INFUSION, status="in_progress"),
               ex(None), ex("")]
    anchors = anchor_dates(real, Patient(), records)
    assert anchors == {"registration": REGISTERED, "infusion": INFUSION}
    assert by_code(timeline(real, Patient(), records, date(2026, 2, 2)))["D28"].due == \
        date(2026, 3, 1)


def test_real_infusion_anchor_pending_without_a_date(real):
    records = [ex(None, status="in_progress")]
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 2)))
    assert t["D28"].status == "pending_anchor"
    assert t["D0"].status == "in_progress"     # started, no window known yet


def test_real_screening_statuses(real):
    today = date(2026, 1, 20)
    started = [Rec("SCR", "ELIG"), Rec("SCR", "IC", "in_progress")]
    t = by_code(timeline(real, Patient(), started, today))
    assert t["SCR"].status == "in_progress"
    assert [(f.oid, f.status) for f in t["SCR"].forms] == [
        ("ELIG", "complete"), ("IC", "in_progress"), ("DM", "not_started"),
        ("MH", "not_started")]
    # started but the window has closed
    assert by_code(timeline(real, Patient(), started, date(2026, 2, 3)))["SCR"].status == \
        "overdue"
    done = [Rec("SCR", oid) for oid in ("ELIG", "IC", "DM", "MH")]
    assert by_code(timeline(real, Patient(), done, today))["SCR"].status == "complete"
    # complete stays complete after the window
    assert by_code(timeline(real, Patient(), done, date(2027, 1, 1)))["SCR"].status == \
        "complete"


def test_real_records_of_another_visit_do_not_count(real):
    records = [Rec("APH", oid) for oid in ("ELIG", "IC", "DM", "MH")] + \
        [Rec(None, "DM"), Rec("UNS1", "IC")]
    t = by_code(timeline(real, Patient(), records, date(2026, 1, 20)))
    assert t["SCR"].status == "due"
    assert all(f.count == 0 for f in t["SCR"].forms)


def test_real_repeating_forms_in_a_visit(real):
    records = [ex(INFUSION), Rec("ACUTE", "CRS"), Rec("ACUTE", "CRS"),
               Rec("ACUTE", "CRS", "in_progress"), Rec("ACUTE", "ICANS"),
               Rec("ACUTE", "ICANS")]
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 5)))
    assert [(f.oid, f.status, f.count) for f in t["ACUTE"].forms] == [
        ("CRS", "in_progress", 3), ("ICANS", "complete", 2)]
    assert t["ACUTE"].status == "in_progress"
    records[3] = Rec("ACUTE", "CRS")
    t = by_code(timeline(real, Patient(), records, date(2026, 2, 5)))
    assert t["ACUTE"].status == "complete"


def test_real_patient_not_registered(real):
    t = by_code(timeline(real, Patient(registered_on=None), [], date(2026, 1, 20)))
    assert t["SCR"].status == "pending_anchor" and t["SCR"].due is None


# --------------------------------------------------------------------------- example
def test_example_schedule(example):
    assert [v.code for v in example.visits] == ["BASE", "W1", "M1"]
    assert example.unscheduled_forms == ("EXAMPLE",)
    assert example.log_forms == ("LOG",)


def test_example_pending_until_the_first_dose(example):
    t = by_code(timeline(example, Patient(), [], date(2026, 1, 6)))
    assert t["BASE"].status == "due"
    assert (t["BASE"].due, t["BASE"].earliest, t["BASE"].latest) == \
        (date(2026, 1, 5), date(2026, 1, 5), date(2026, 1, 19))
    assert t["W1"].status == "pending_anchor" and t["M1"].status == "pending_anchor"


def test_example_form_anchor_from_a_log_form(example):
    logs = [Rec(None, "LOG", values={"LOGDAT": "2026-01-12"}),
            Rec(None, "LOG", values={"LOGDAT": "2026-01-10"})]
    t = by_code(timeline(example, Patient(), logs, date(2026, 1, 14)))
    assert (t["W1"].due, t["W1"].earliest, t["W1"].latest) == \
        (date(2026, 1, 17), date(2026, 1, 15), date(2026, 1, 19))
    assert (t["M1"].due, t["M1"].earliest, t["M1"].latest) == \
        (date(2026, 2, 7), date(2026, 2, 4), date(2026, 2, 12))
    assert t["W1"].status == "not_due"
    assert t["M1"].status == "not_due"
    assert by_code(timeline(example, Patient(), logs, date(2026, 1, 15)))["W1"].status == \
        "due"
    assert by_code(timeline(example, Patient(), logs, date(2026, 1, 20)))["W1"].status == \
        "overdue"


def test_example_statuses(example):
    logs = [Rec(None, "LOG", values={"LOGDAT": "2026-01-10"})]
    records = logs + [Rec("BASE", "EXAMPLE"), Rec("W1", "EXAMPLE", "in_progress"),
                      Rec("M1", "EXAMPLE")]
    t = by_code(timeline(example, Patient(), records, date(2026, 1, 18)))
    assert t["BASE"].status == "complete"
    assert t["W1"].status == "in_progress"
    assert t["M1"].status == "in_progress"        # EXAMPLE done, LOG not started at M1
    t = by_code(timeline(example, Patient(), records + [Rec("M1", "LOG")],
                         date(2026, 1, 18)))
    assert t["M1"].status == "complete"
    t = by_code(timeline(example, Patient(), records, date(2026, 1, 20)))
    assert t["W1"].status == "overdue"            # started, window closed 01-19


def test_anchor_pick_last(example):
    last = replace(example, anchors={**example.anchors,
                                     "firstdose": replace(example.anchors["firstdose"],
                                                          pick="last")})
    logs = [Rec(None, "LOG", values={"LOGDAT": "2026-01-12"}),
            Rec(None, "LOG", values={"LOGDAT": "2026-01-10"})]
    assert anchor_dates(last, Patient(), logs)["firstdose"] == date(2026, 1, 12)
    assert anchor_dates(example, Patient(), logs)["firstdose"] == date(2026, 1, 10)


def test_anchor_from_a_datetime_item_and_enrolled_on():
    schedule = Schedule(
        anchors={"start": Anchor("start", form="LOG", item="LOGSTDTC"),
                 "enrol": Anchor("enrol", patient_field="enrolled_on")},
        visits=(VisitDef("V1", "Visit 1", "start", 1, 0, 0, ()),
                VisitDef("V2", "Visit 2", "enrol", 2, 1, 1, ())),
        unscheduled_forms=(), log_forms=())
    recs = [Rec(None, "LOG", values={"LOGSTDTC": "2026-01-10T09:30:00Z"})]
    patient = Patient(enrolled_on=date(2026, 1, 8))
    assert anchor_dates(schedule, patient, recs) == {"start": date(2026, 1, 10),
                                                     "enrol": date(2026, 1, 8)}
    t = by_code(timeline(schedule, patient, recs, date(2026, 1, 10)))
    # visits without forms are never complete: their status follows the calendar
    assert (t["V1"].due, t["V1"].status) == (date(2026, 1, 11), "not_due")
    assert (t["V2"].due, t["V2"].status) == (date(2026, 1, 10), "due")
    assert t["V1"].forms == []


def test_form_status():
    assert form_status([]) == "not_started"
    assert form_status([Rec("V", "F")]) == "complete"
    assert form_status([Rec("V", "F"), Rec("V", "F", "in_progress")]) == "in_progress"
    assert form_status([Rec("V", "F", "in_progress")]) == "in_progress"

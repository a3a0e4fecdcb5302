""""What's due this week": the scheduled forms a site user should enter now.

For the patients the user may enter data for (:func:`edc.access.patient_query` with
``crf.edit``) who are in screening or enrolled, every required form of a scheduled visit
that is not complete and whose window

- has closed (``overdue``: the last day of the window is before today), or
- is open today (``open``), or
- opens within the next ``days`` days (``upcoming``).

"Today" is the date in each patient's site time zone, so a row changes at the site's
midnight, not the server's. Visits whose date is not known yet (the anchor form is not
entered) are left out. Queries: the patients, their records, and the status icons (one
query per kind).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .. import access
from ..crf import catalog as cat
from ..crf.record_status import FormState, record_states, slot_state
from ..extensions import db
from ..patients.models import Patient
from .definitions import timeline
from .services import records_by_patient, site_today

ACTIVE_PATIENTS = ("screening", "enrolled")
DAYS = 7
LIMIT = 200


@dataclass
class DueRow:
    patient: Patient
    visit: object           # VisitDef
    oid: str
    due: date
    earliest: date
    latest: date
    kind: str               # overdue | open | upcoming
    today: date             # the site's local date the row was computed for
    record: object | None   # the record to open (None: start the form)
    state: FormState

    @property
    def days_late(self) -> int:
        return (self.today - self.latest).days if self.kind == "overdue" else 0


def due_this_week(user, *, now: datetime | None = None, days: int = DAYS,
                  limit: int = LIMIT) -> tuple[list[DueRow], bool]:
    """(rows, truncated): overdue rows first (longest overdue first), then by due date."""
    patients = list(db.session.scalars(
        access.patient_query(user, access.CRF_EDIT)
        .where(Patient.status.in_(ACTIVE_PATIENTS))
        .order_by(Patient.site_id, Patient.seq)))
    if not patients:
        return [], False
    recs = records_by_patient([p.id for p in patients])
    schedule = cat.catalog().schedule
    today_of: dict[int, date] = {}
    found = []
    for p in patients:
        today = today_of.get(p.site_id)
        if today is None:
            today = today_of[p.site_id] = site_today(p.site, now)
        horizon = today + timedelta(days=days)
        by_slot: dict[tuple[str, str], list] = {}
        for r in recs[p.id]:
            by_slot.setdefault((r.visit_code, r.form_oid), []).append(r)
        for vs in timeline(schedule, p, recs[p.id], today):
            if vs.due is None or vs.status == "complete":
                continue
            if vs.latest < today:
                kind = "overdue"
            elif vs.earliest <= today:
                kind = "open"
            elif vs.earliest <= horizon:
                kind = "upcoming"
            else:
                continue
            for fs in vs.forms:
                if fs.status == "complete":
                    continue
                slot = by_slot.get((vs.visit.code, fs.oid), [])
                todo = next((r for r in slot if r.status != "complete"), None)
                found.append((p, vs, fs.oid, kind, today, slot, todo))
    order = {"overdue": 0, "open": 1, "upcoming": 1}
    found.sort(key=lambda t: (order[t[3]], t[1].latest if t[3] == "overdue" else t[1].due,
                              t[0].site_id, t[0].seq, t[1].visit.day, t[2]))
    truncated = len(found) > limit
    found = found[:limit]
    states = record_states([r for row in found for r in row[5]])
    rows = [DueRow(p, vs.visit, oid, vs.due, vs.earliest, vs.latest, kind, today, todo,
                   slot_state(slot, states))
            for p, vs, oid, kind, today, slot, todo in found]
    return rows, truncated

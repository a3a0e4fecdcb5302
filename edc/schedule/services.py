"""Timelines of patients and the overdue forms of a site."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from ..crf import catalog as cat
from ..crf.models import FormRecord
from ..crf.services import LIVE
from ..extensions import db
from ..patients.models import Patient
from .definitions import timeline


def records_by_patient(patient_ids: list[int]) -> dict[int, list[FormRecord]]:
    out: dict[int, list[FormRecord]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return out
    for r in db.session.scalars(_live_records(), {"pids": list(patient_ids)}):
        out[r.patient_id].append(r)
    return out


@cache
def _live_records():
    """The live records of some patients, built once. Their patient is not joined in
    (FormRecord.patient is lazy="joined"): the callers have loaded the patients already,
    and ``r.patient`` finds its one in the session without a query."""
    return select(FormRecord).where(
        FormRecord.patient_id.in_(bindparam("pids", expanding=True)),
        FormRecord.status.in_(LIVE)).order_by(FormRecord.visit_code, FormRecord.seq) \
        .options(lazyload(FormRecord.patient))


def site_today(site, now: datetime | None = None) -> date:
    """The calendar date now at the site (``now``: an aware datetime, default: now)."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(ZoneInfo(site.timezone)).date()


def patient_timeline(patient: Patient, records: list[FormRecord], today: date | None = None):
    """Visit statuses as of ``today``, by default the date now at the patient's site."""
    return timeline(cat.catalog().schedule, patient, records,
                    today or site_today(patient.site))


def site_overdue(site_id: int, patients: list[Patient], today: date | None = None) -> list:
    """(patient, visit status, form status) for required forms of visits past their window
    that are not complete, and forms entered outside their visit's window."""
    if today is None:  # the date now at the site, not the server's
        today = site_today(patients[0].site) if patients else date.today()
    recs = records_by_patient([p.id for p in patients])
    rows = []
    for p in patients:
        visits = {vs.visit.code: vs for vs in patient_timeline(p, recs[p.id], today)}
        for vs in visits.values():
            if vs.latest is None:
                continue
            for fs in vs.forms:
                if fs.status != "complete" and today > vs.latest:
                    rows.append((p, vs, fs, "overdue"))
        for r in recs[p.id]:
            vs = visits.get(r.visit_code)
            if vs is None or vs.earliest is None:
                continue
            if not vs.earliest <= r.created_at.date() <= vs.latest:
                rows.append((p, vs, None, "out_of_window"))
    return rows


def patient_summary(patient: Patient, records: list[FormRecord]) -> list[dict]:
    """The clinical summary rows (forms/summary.yaml) of one patient, ready to show."""
    from ..crf.summary import compute
    from .definitions import anchor_dates
    cat_ = cat.catalog()
    d0 = anchor_dates(cat_.schedule, patient, records).get("infusion")
    values = compute(cat_.summary, records, d0)
    rows = []
    for f in cat_.summary:
        form, item = f.source[0]
        rows.append({"field": f, "item": cat_.forms[form].items[item],
                     "value": values.get(f.key),
                     "onset": values.get(f.key + "_onset"),
                     "resolution": values.get(f.key + "_resolution")})
    return rows


def site_summary(patients: list[Patient]) -> list[tuple[Patient, list[dict]]]:
    recs = records_by_patient([p.id for p in patients])
    return [(p, patient_summary(p, recs[p.id])) for p in patients]

"""Streaming the records of a snapshot from the database, never holding them all.

A snapshot covers the live records (in progress or complete; removed ones never) of its
sites. An interim cut also has a cut-off date: a record belongs to the cut when its
reference date is on or before the cut-off. The reference date is the record's clinical
date — the first date (or date-time, in the site's time zone) of the form that has a
value, e.g. the assessment date — or, for forms without one, the day it was entered (UTC).

The study day is the clinical date minus the patient's infusion date D0 (schedule anchor
``infusion``), so D0 is day 0 and the day before is −1.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.engine import Connection

from ..crf.definitions import FormDef
from ..crf.models import FormRecord
from ..patients.models import Patient
from ..sites.models import Site

LIVE = ("in_progress", "complete")
BATCH = 2000
D0_ANCHOR = "infusion"


@dataclass(frozen=True)
class Scope:
    site_ids: tuple[int, ...]
    cutoff: date | None = None


@dataclass
class Rec:
    id: int
    patient_id: int
    pseudonym: str
    site: str
    visit: str
    oid: str
    version: int
    seq: int
    status: str
    values: dict
    missing: dict
    updated_at: datetime
    clinical_date: date | None
    study_day: int | None


class Definitions:
    """The form definitions records were entered with, looked up once per version."""

    def __init__(self, lookup):
        self._lookup = lookup            # (oid, version) -> FormDef
        self._cache: dict[tuple[str, int], FormDef] = {}
        self._dates: dict[tuple[str, int], list] = {}

    def get(self, oid: str, version: int) -> FormDef:
        key = (oid, version)
        if key not in self._cache:
            self._cache[key] = self._lookup(oid, version)
        return self._cache[key]

    def date_items(self, oid: str, version: int) -> list:
        key = (oid, version)
        if key not in self._dates:
            self._dates[key] = [(i.name, i.type == "datetime")
                                for i in self.get(oid, version).entered
                                if i.type in ("date", "datetime")]
        return self._dates[key]


def clinical_date(defs: Definitions, oid: str, version: int, values: dict,
                  tz: ZoneInfo) -> date | None:
    for name, is_dt in defs.date_items(oid, version):
        v = values.get(name)
        if not v:
            continue
        try:
            if is_dt:
                return datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=timezone.utc).astimezone(tz).date()
            return date.fromisoformat(v)
        except (TypeError, ValueError):
            continue
    return None


def visit_rank(schedule):
    """SQL ordering of visit codes: schedule order, then unscheduled visits, then LOG."""
    whens = {v.code: i for i, v in enumerate(schedule.visits)}
    col = FormRecord.visit_code
    return case(
        *[(col == code, i) for code, i in whens.items()],
        (col.like("UNS%"), 1000 + cast(func.substr(col, 4), Integer)),
        else_=100000)


def _base(scope: Scope):
    return (select(FormRecord.id, FormRecord.patient_id, Patient.pseudonym, Site.code,
                   Site.timezone, FormRecord.visit_code, FormRecord.form_oid,
                   FormRecord.form_version, FormRecord.seq, FormRecord.status,
                   FormRecord.values, FormRecord.missing, FormRecord.created_at,
                   FormRecord.updated_at)
            .join(Patient, Patient.id == FormRecord.patient_id)
            .join(Site, Site.id == FormRecord.site_id)
            .where(FormRecord.status.in_(LIVE), FormRecord.site_id.in_(scope.site_ids)))


@contextmanager
def fast_json(conn: Connection):
    """Decode JSONB with orjson on this connection (PostgreSQL), for the time of an
    export: a snapshot decodes every record's values twice."""
    raw = conn.connection.dbapi_connection if conn.dialect.name == "postgresql" else None
    if raw is None:
        yield
        return
    import json

    import orjson
    from psycopg.types.json import set_json_loads
    set_json_loads(orjson.loads, raw)
    try:
        yield
    finally:
        set_json_loads(json.loads, raw)


class Source:
    """The records of one snapshot, read through one connection (one transaction)."""

    def __init__(self, conn: Connection, scope: Scope, defs: Definitions, schedule, *,
                 study_days: bool = True):
        self.conn, self.scope, self.defs, self.schedule = conn, scope, defs, schedule
        self._zones: dict[str, ZoneInfo] = {}
        self.d0: dict[int, date] = {}
        if study_days:
            self.d0 = self._d0()

    def _zone(self, name: str) -> ZoneInfo:
        z = self._zones.get(name)
        if z is None:
            z = self._zones[name] = ZoneInfo(name)
        return z

    def _stream(self, stmt) -> Iterator[Rec]:
        result = self.conn.execution_options(stream_results=True, yield_per=BATCH) \
            .execute(stmt)
        cutoff = self.scope.cutoff
        try:
            for (rid, pid, pseudo, site, tzname, visit, oid, ver, seq, status, values,
                 missing, created, updated) in result:
                cdate = clinical_date(self.defs, oid, ver, values or {},
                                      self._zone(tzname))
                if cutoff is not None:
                    ref = cdate if cdate is not None else created.date()
                    if ref > cutoff:
                        continue
                d0 = self.d0.get(pid)
                day = (cdate - d0).days if cdate is not None and d0 is not None else None
                yield Rec(rid, pid, pseudo, site, visit, oid, ver, seq, status,
                          values or {}, missing or {}, updated, cdate, day)
        finally:
            result.close()

    def _d0(self) -> dict[int, date]:
        anchor = self.schedule.anchors.get(D0_ANCHOR) if self.schedule else None
        if anchor is None:
            return {}
        out: dict[int, date] = {}
        if anchor.patient_field:
            col = getattr(Patient, anchor.patient_field)
            for pid, d in self.conn.execute(select(Patient.id, col).where(
                    Patient.site_id.in_(self.scope.site_ids), col.is_not(None))):
                if self.scope.cutoff is None or d <= self.scope.cutoff:
                    out[pid] = d
            return out
        stmt = _base(self.scope).where(FormRecord.form_oid == anchor.form)
        for rec in self._stream(stmt):
            v = rec.values.get(anchor.item)
            if not v:
                continue
            d = date.fromisoformat(str(v)[:10])
            cur = out.get(rec.patient_id)
            if cur is None or (d < cur if anchor.pick == "first" else d > cur):
                out[rec.patient_id] = d
        return out

    # ------------------------------------------------------------------ queries
    def versions(self) -> dict[str, set[int]]:
        """Form versions present among the live records of the sites (before any cut)."""
        out: dict[str, set[int]] = {}
        for oid, ver in self.conn.execute(
                select(FormRecord.form_oid, FormRecord.form_version).distinct().where(
                    FormRecord.status.in_(LIVE),
                    FormRecord.site_id.in_(self.scope.site_ids))):
            out.setdefault(oid, set()).add(ver)
        return out

    def by_form(self, oid: str) -> Iterator[Rec]:
        """One form's records: by patient, visit (schedule order), repeat number."""
        stmt = _base(self.scope).where(FormRecord.form_oid == oid).order_by(
            Patient.pseudonym, visit_rank(self.schedule), FormRecord.seq, FormRecord.id)
        return self._stream(stmt)

    def by_patient(self) -> Iterator[Rec]:
        """Every record: by patient, visit (schedule order), form, repeat number."""
        stmt = _base(self.scope).order_by(
            Patient.pseudonym, visit_rank(self.schedule), FormRecord.form_oid,
            FormRecord.seq, FormRecord.id)
        return self._stream(stmt)

    def all_records(self) -> Iterator[Rec]:
        """Every record, in id order (for counting and checks)."""
        return self._stream(_base(self.scope).order_by(FormRecord.id))

    def statuses(self) -> Iterator[Rec]:
        """Every record without its values (empty dicts), in id order — unless the scope
        has a cut-off, which needs the values to place each record."""
        if self.scope.cutoff is not None:
            yield from self.all_records()
            return
        stmt = (select(FormRecord.id, FormRecord.patient_id, Patient.pseudonym, Site.code,
                       FormRecord.visit_code, FormRecord.form_oid, FormRecord.form_version,
                       FormRecord.seq, FormRecord.status, FormRecord.updated_at)
                .join(Patient, Patient.id == FormRecord.patient_id)
                .join(Site, Site.id == FormRecord.site_id)
                .where(FormRecord.status.in_(LIVE),
                       FormRecord.site_id.in_(self.scope.site_ids))
                .order_by(FormRecord.id))
        result = self.conn.execution_options(stream_results=True, yield_per=BATCH) \
            .execute(stmt)
        try:
            for rid, pid, pseudo, site, visit, oid, ver, seq, status, updated in result:
                yield Rec(rid, pid, pseudo, site, visit, oid, ver, seq, status, {}, {},
                          updated, None, None)
        finally:
            result.close()

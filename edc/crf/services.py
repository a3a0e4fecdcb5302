"""Saving eCRF records: one transaction for the data, its audit rows and its queries."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from .. import access
from ..audit.models import AuditEvent
from ..audit.services import Actor, record as audit, record_many as audit_many
from ..db import utcnow
from ..errors import NotFound, ServiceError
from ..extensions import db
from ..patients.models import Patient
from . import catalog as cat
from . import engine
from .definitions import FormDef
from .models import FormRecord
from .values import N_

LIVE = ("in_progress", "complete")


@dataclass
class SaveOutcome:
    record: FormRecord | None
    result: engine.Result
    saved: bool = False
    reason_needed: bool = False
    stale: dict | None = None         # {"name", "at", "values"} when refused as stale
    changed: list[str] = field(default_factory=list)
    record_id: int | None = None      # the saved record's id (read before the commit)


def visit_allows(patient: Patient, visit_code: str, form: FormDef) -> bool:
    sched = cat.catalog().schedule
    if visit_code == "LOG":
        return form.oid in sched.log_forms
    if visit_code.startswith("UNS") and visit_code[3:].isdigit():
        return form.oid in sched.unscheduled_forms
    v = sched.visit(visit_code)
    return v is not None and form.oid in v.forms


def patient_records(patient: Patient) -> list[FormRecord]:
    return list(db.session.scalars(
        select(FormRecord).where(FormRecord.patient_id == patient.id,
                                 FormRecord.status.in_(LIVE))
        .order_by(FormRecord.form_oid, FormRecord.visit_code, FormRecord.seq)))


def live_record_id(patient: Patient, visit_code: str, oid: str) -> int | None:
    """The id of the patient's live record of a (non-repeating) form at a visit."""
    return db.session.scalar(select(FormRecord.id).where(
        FormRecord.patient_id == patient.id, FormRecord.visit_code == visit_code,
        FormRecord.form_oid == oid, FormRecord.status.in_(LIVE))
        .order_by(FormRecord.seq, FormRecord.id).limit(1))


def get_record(actor: Actor, patient: Patient, record_id: int) -> FormRecord:
    rec = db.session.get(FormRecord, record_id)
    if rec is None or rec.patient_id != patient.id:
        raise NotFound(_l("Record not found."))
    return rec


def _sort_key(r: FormRecord):
    return (r.visit_code, r.seq, r.id or 0)


def references(form: FormDef, patient: Patient, record: FormRecord | None) -> dict:
    """Values of the patient's other records that the form references (@FORM…)."""
    oids = _ref_oids(form)
    if not oids:
        return {}
    return _references_from(form, _live_rows(patient.id, oids), record)


_T = FormRecord.__table__
# The columns references and the new-record check need, as plain rows (Core, on the
# session's connection: no ORM objects to build for a look-up done on every save).
_LIVE_ROWS = select(_T.c.id, _T.c.form_oid, _T.c.visit_code, _T.c.seq, _T.c.updated_at,
                    _T.c["values"]).where(
    _T.c.patient_id == bindparam("pid"), _T.c.status.in_(LIVE),
    _T.c.form_oid.in_(bindparam("oids", expanding=True)))
_INSERT_RECORD = insert(_T).returning(_T.c.id)
_MAX_SEQ = select(func.max(_T.c.seq)).where(
    _T.c.patient_id == bindparam("pid"), _T.c.visit_code == bindparam("visit"),
    _T.c.form_oid == bindparam("oid"))


def _live_rows(patient_id: int, oids) -> list:
    db.session.flush()  # reads see the caller's pending changes (as autoflush would)
    return list(db.session.connection().execute(
        _LIVE_ROWS, {"pid": patient_id, "oids": sorted(oids)}))


def _ref_oids(form: FormDef) -> set[str]:
    from .expressions import REF_RE
    return {REF_RE.fullmatch(r).group(1) for r in form.refs()}


def _references_from(form: FormDef, rows: list[FormRecord],
                     record: FormRecord | None) -> dict:
    """:func:`references` computed from the patient's live records (a superset is fine)."""
    from .expressions import REF_RE
    wanted = form.refs()
    out: dict[str, Any] = {}
    for ref in wanted:
        m = REF_RE.fullmatch(ref)
        oid, mode, item = m.group(1), m.group(3), m.group(4)
        recs = sorted((r for r in rows if r.form_oid == oid), key=_sort_key)
        others = [r for r in recs if record is None or r.id != record.id]
        if mode is None:
            latest = max(recs, key=lambda r: r.updated_at) if recs else None
            out[ref] = latest.values.get(item) if latest else None
        elif mode == "*":
            out[ref] = [r.values.get(item) for r in others]
        else:  # prev: the record before this one (or the last one, for a new record)
            if record is None:
                prev = others[-1] if others else None
            else:
                before = [r for r in others if _sort_key(r) < _sort_key(record)]
                prev = before[-1] if before else None
            out[ref] = prev.values.get(item) if prev else None
    return out


def site_zone(patient: Patient) -> ZoneInfo:
    return ZoneInfo(patient.site.timezone)


def evaluate(form: FormDef, patient: Patient, record: FormRecord | None, raw: dict,
             raw_missing: dict, *, complete: bool, refs: dict | None = None
             ) -> engine.Result:
    tz = site_zone(patient)
    if refs is None:
        refs = references(form, patient, record)
    return engine.process(form, raw, raw_missing, refs,
                          tz=tz, today=datetime.now(tz).date(), complete=complete)


def _check_writable(actor: Actor, patient: Patient, record: FormRecord | None = None
                    ) -> None:
    access.require(actor.user, access.CRF_EDIT, patient.site_id)
    from ..signing.locks import assert_writable
    # site or patient locked, or (with a record) the form frozen: refused
    assert_writable(patient, record)


def save(actor: Actor, patient: Patient, visit_code: str, oid: str, *,
         record_id: int | None, row_version: int | None, raw: dict, raw_missing: dict,
         complete: bool, reason: str | None) -> SaveOutcome:
    """Validate and save one submission. On any error nothing is written."""
    access.require(actor.user, access.CRF_EDIT, patient.site_id)
    rec = get_record(actor, patient, record_id) if record_id else None
    _check_writable(actor, patient, rec)  # one look-up of the locks, the record's too
    if rec is not None:
        form = cat.form_version(rec.form_oid, rec.form_version)
        visit_code = rec.visit_code
    else:
        form = cat.current(oid)
        if form is None:
            raise NotFound(_l("Unknown form."))
    if not visit_allows(patient, visit_code, form):
        raise NotFound(_l("This form does not belong to this visit."))
    refs = None
    if rec is None and not form.repeating:
        # One query for both: a live record of this form at this visit (created by
        # someone else since this page was opened) and the records the form references.
        rows = _live_rows(patient.id, _ref_oids(form) | {form.oid})
        rec = next((r for r in sorted(rows, key=_sort_key) if r.form_oid == form.oid
                    and r.visit_code == visit_code), None)
        if rec is not None:
            return _stale(rec, form, actor, patient)
        refs = _references_from(form, rows, None)
    if rec is not None and row_version != rec.row_version:
        return _stale(rec, form, actor, patient)

    result = evaluate(form, patient, rec, raw, raw_missing, complete=complete, refs=refs)
    outcome = SaveOutcome(rec, result)
    if result.refusals:
        db.session.rollback()
        for f in result.refusals:
            audit("crf.refused", actor, site_code=patient.site.code, object_type="record",
                  object_id=patient.pseudonym, record_id=rec.id if rec else None,
                  item=f.item, new=raw.get(f.item), reason=f.msg.msgid)
        from ..alerts.services import alerts_on_refusal
        alerts_on_refusal(actor, patient, form.oid, visit_code, rec, result.refusals)
        db.session.commit()
        return outcome
    if not result.ok:
        db.session.rollback()
        return outcome
    old_values = dict(rec.values) if rec else {}
    old_missing = dict(rec.missing) if rec else {}
    changed = [n for n in form.items
               if old_values.get(n) != result.values.get(n)
               or old_missing.get(n) != result.missing.get(n)]
    new_status = "complete" if complete else ("in_progress" if rec is None or
                                              rec.status != "complete" else "complete")
    if rec is not None and not changed and new_status == rec.status:
        outcome.saved, outcome.record_id = True, rec.id
        return outcome
    if rec is not None and rec.completed_once and changed and not (reason or "").strip():
        outcome.reason_needed = True
        result.form_errors.append(engine.Msg(
            N_("This form was completed before: give a reason for the change.")))
        return outcome
    now = utcnow()
    if rec is None:
        seq = 1
        if form.repeating:
            seq = (db.session.connection().execute(_MAX_SEQ, {
                "pid": patient.id, "visit": visit_code, "oid": form.oid}).scalar() or 0) + 1
        cat.ensure_registered(form)
        row = dict(patient_id=patient.id, site_id=patient.site_id, visit_code=visit_code,
                   form_oid=form.oid, form_version=form.version,
                   content_hash=form.content_hash, seq=seq, status=new_status,
                   values=result.values, missing=result.missing, created_at=now,
                   created_by=actor.user_id, updated_at=now, updated_by=actor.user_id,
                   updated_by_name=actor.name, completed_once=complete, row_version=1)
        # One Core INSERT … RETURNING (the ORM's unit of work costs more than the whole
        # statement), then the object joins the session as the persistent row it is.
        row["id"] = db.session.connection().execute(_INSERT_RECORD, row).scalar_one()
        rec = FormRecord(**row)
        make_transient_to_detached(rec)
        db.session.add(rec)
        action = "crf.create"
    else:
        rec.values, rec.missing = result.values, result.missing
        old_status = rec.status
        rec.status = new_status
        rec.completed_once = rec.completed_once or complete
        rec.updated_at, rec.updated_by, rec.updated_by_name = now, actor.user_id, actor.name
        action = "crf.update"
        try:
            # UPDATE … WHERE row_version = the version read: a concurrent save that
            # committed first makes this match no row — refused as stale, never merged.
            db.session.flush()
        except StaleDataError:
            return _stale(rec, form, actor, patient)
        if old_status != new_status:
            audit("crf.status", actor, site_code=patient.site.code, object_type="record",
                  object_id=patient.pseudonym, record_id=rec.id, old=old_status,
                  new=new_status, reason=reason)
    why = (reason or "").strip() or None
    item_events = []
    for name in changed:
        old = _audit_value(old_values.get(name), old_missing.get(name))
        new = _audit_value(result.values.get(name), result.missing.get(name))
        if old is None and new is None:
            continue
        item_events.append(dict(
            action=action, site_code=patient.site.code, object_type="record",
            object_id=f"{patient.pseudonym}/{visit_code}/{form.oid}#{rec.seq}",
            record_id=rec.id, item=name, old=old, new=new, reason=why))
    audit_many(actor, item_events)
    from ..alerts.services import alerts_on_save
    from ..queries.sdv import clear_on_change
    from ..queries.services import note_data_change, sync_auto_queries
    from ..signing.services import invalidate_on_change
    # One query tells which of the record's queries, SDV marks and the patient's
    # signatures exist; most saves have none, and skip their look-ups.
    has = _attached(patient, rec)
    if result.queries or has["auto"]:
        sync_auto_queries(actor, patient, rec, result.queries)
    if has["manual"]:
        note_data_change(actor, patient, rec, changed)  # open manual queries: answered
    if has["sdv"]:
        clear_on_change(actor, patient, rec, changed)   # SDV of changed items cleared
    if has["signature"]:
        invalidate_on_change(actor, patient, rec, changed)  # signatures of changed data
    alerts_on_save(actor, patient, rec)                 # SAE, CRS/ICANS grade ≥ 3, death
    record_id = rec.id
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(FormRecord, rec.id)
        return _stale(fresh, form, actor, patient)
    outcome.record, outcome.saved, outcome.changed = rec, True, changed
    outcome.record_id = record_id
    return outcome


def _attached(patient: Patient, rec: FormRecord) -> dict[str, bool]:
    """Whether the saved record has active automatic queries, open manual queries or
    active SDV marks, and whether the patient has valid signatures covering its visit:
    the conditions under which the save must look at them (one statement)."""
    row = db.session.connection().execute(_attached_statement(), {
        "rid": rec.id, "pid": patient.id, "visit": rec.visit_code}).one()
    return {k: bool(v) for k, v in row._mapping.items()}


@cache
def _attached_statement():
    """Built once; the values are bound parameters."""
    from sqlalchemy import bindparam, exists, or_
    from ..queries.models import Query, SdvMark
    from ..queries.services import ACTIVE
    from ..signing.models import Signature
    rid, pid, visit = bindparam("rid"), bindparam("pid"), bindparam("visit")
    return select(
        exists().where(Query.record_id == rid, Query.kind == "auto",
                       Query.status.in_(ACTIVE)).label("auto"),
        exists().where(Query.record_id == rid, Query.kind == "manual",
                       Query.status == "open").label("manual"),
        exists().where(SdvMark.record_id == rid,
                       SdvMark.cleared_at.is_(None)).label("sdv"),
        exists().where(Signature.patient_id == pid, Signature.status == "valid",
                       or_(Signature.scope == "casebook",
                           Signature.visit_code == visit)).label("signature"))


def _audit_value(value, missing):
    if missing:
        return {"missing": missing["code"], "reason": missing["reason"]}
    return value


def _stale(rec: FormRecord, form: FormDef, actor: Actor, patient: Patient) -> SaveOutcome:
    db.session.rollback()
    rec = db.session.get(FormRecord, rec.id)
    res = engine.Result()
    return SaveOutcome(rec, res, stale={"name": rec.updated_by_name, "at": rec.updated_at,
                                        "row_version": rec.row_version,
                                        "values": dict(rec.values)})


def item_history(patient: Patient, record: FormRecord, item: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.record_id == record.id, AuditEvent.item == item,
        AuditEvent.action.in_(("crf.create", "crf.update", "crf.refused")))
        .order_by(AuditEvent.id)))


def remove(actor: Actor, patient: Patient, record: FormRecord, reason: str) -> None:
    """Nothing is hard-deleted: a removed record keeps its data, with a reason."""
    _check_writable(actor, patient, record)  # locked, or the form frozen: refused
    if not (reason or "").strip():
        raise ServiceError(_l("Give a reason for removing this record."))
    old = record.status
    record.status = "removed"
    audit("crf.remove", actor, site_code=patient.site.code, object_type="record",
          object_id=patient.pseudonym, record_id=record.id, old=old, new="removed",
          reason=reason.strip())
    from ..signing.services import invalidate_on_change
    invalidate_on_change(actor, patient, record, [])  # a signed visit lost a record
    db.session.commit()

"""Data queries: the automatic queries raised by the eCRF engine, manual queries raised
by monitors and data managers, their workflow (open → answered → closed, re-opened or
cancelled), and the lists."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import bindparam, select

from .. import access
from ..audit.services import Actor, record as audit
from ..crf.values import N_
from ..db import utcnow
from ..errors import Conflict, NotFound, ServiceError
from ..extensions import db
from .models import QUERY_STATES, Query, QueryMessage

ACTIVE = ("open", "answered")
DATA_CHANGED = N_("The data changed: the condition of this query no longer applies.")


def sync_auto_queries(actor: Actor, patient, rec, findings) -> None:
    """Open a query for each check that fires and has none active; note the data change
    on active automatic queries whose condition no longer applies (a monitor closes them).
    Runs inside the caller's transaction."""
    existing = list(db.session.scalars(select(Query).where(
        Query.record_id == rec.id, Query.kind == "auto", Query.status.in_(ACTIVE))))
    active = {(q.check, q.item): q for q in existing}
    firing = {(f.check, f.item): f for f in findings}
    now = utcnow()
    for key, f in firing.items():
        if key in active:
            q = active[key]
            if q.data_changed_at is not None:  # fires again after having cleared
                q.data_changed_at = None
            continue
        q = Query(record_id=rec.id, patient_id=patient.id, site_id=patient.site_id,
                  item=f.item, kind="auto", check=f.check, status="open",
                  message=f.msg.msgid, params=_jsonable(f.msg.params), created_at=now,
                  created_by=actor.user_id, updated_at=now)
        db.session.add(q)
        db.session.flush()
        db.session.add(QueryMessage(query_id=q.id, at=now, user_id=None, user_name=None,
                                    role="system", action="raise", text=f.msg.msgid,
                                    params=_jsonable(f.msg.params)))
        audit("query.auto", actor, site_code=patient.site.code, object_type="query",
              object_id=q.id, record_id=rec.id, item=f.item, new=f.msg.msgid)
    for key, q in active.items():
        if key not in firing and q.data_changed_at is None:
            q.data_changed_at, q.updated_at = now, now
            db.session.add(QueryMessage(query_id=q.id, at=now, user_id=actor.user_id,
                                        user_name=actor.name, role="system",
                                        action="data_changed", text=DATA_CHANGED))
            audit("query.data_changed", actor, site_code=patient.site.code,
                  object_type="query", object_id=q.id, record_id=rec.id, item=q.item)


def _jsonable(params: dict) -> dict:
    return {k: (v if isinstance(v, (int, str, bool, type(None))) else str(v))
            for k, v in (params or {}).items()}


def record_queries(record_ids: list[int]) -> list[Query]:
    if not record_ids:
        return []
    return list(db.session.scalars(select(Query).where(Query.record_id.in_(record_ids))
                                   .order_by(Query.id)))


def open_counts(record_ids: list[int]) -> dict[int, int]:
    """Active (open or answered) queries per record."""
    if not record_ids:
        return {}
    return dict(db.session.execute(_open_counts_statement(), {"ids": list(record_ids)}
                                   ).all())


@cache
def _open_counts_statement():
    """Built once (every eCRF and patient page runs it)."""
    from sqlalchemy import func
    return select(Query.record_id, func.count(Query.id)).where(
        Query.record_id.in_(bindparam("ids", expanding=True)),
        Query.status.in_(ACTIVE)).group_by(Query.record_id)


# ------------------------------------------------------------------ manual queries
# action: (states it may start from, state it leads to, permission, message required)
TRANSITIONS = {
    "answer": (("open",), "answered", access.QUERY_ANSWER, True),
    "close": (("answered",), "closed", access.QUERY_MANAGE, False),
    "reopen": (("answered", "closed"), "open", access.QUERY_MANAGE, True),
    "cancel": (("open", "answered"), "cancelled", access.QUERY_MANAGE, True),
}
DATA_CORRECTED = N_("The data of this item were changed.")
STATE_LABELS = {
    "open": N_("Open"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
#: age bands of active queries, in days open: (key, label, lowest, highest)
AGE_BANDS = (
    ("0-7", N_("up to 7 days"), 0, 7),
    ("8-14", N_("8 to 14 days"), 8, 14),
    ("15-30", N_("15 to 30 days"), 15, 30),
    ("31+", N_("more than 30 days"), 31, None),
)
MESSAGE_MAX = 2000


def acting_role(user, site_id: int, permission: str) -> str | None:
    """The user's role at the site that carries the permission (for the thread)."""
    roles = access.roles_at(user, site_id)
    return next((r for r in access.ROLES
                 if r in roles and permission in access.PERMISSIONS[r]), None)


def _clean(text: str | None, required: bool, what) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ServiceError(what)
    if len(text) > MESSAGE_MAX:
        raise ServiceError(_l("The message is too long (at most %(n)d characters)."),
                           n=MESSAGE_MAX)
    return text


def _query_ref(patient, rec) -> str:
    return f"{patient.pseudonym}/{rec.visit_code}/{rec.form_oid}#{rec.seq}"


def raise_query(actor: Actor, patient, rec, item: str, text: str) -> Query:
    """A monitor or data manager raises a manual query on one item of a record."""
    from ..crf import catalog as cat
    from ..signing.locks import assert_writable
    access.require(actor.user, access.QUERY_MANAGE, patient.site_id)
    if rec.patient_id != patient.id or rec.status == "removed":
        raise NotFound(_l("Record not found."))
    assert_writable(patient)
    form = cat.form_version(rec.form_oid, rec.form_version)
    if item not in form.items:
        raise ServiceError(_l("Choose an item of this form."))
    text = _clean(text, True, _l("Write the question for the site."))
    now = utcnow()
    q = Query(record_id=rec.id, patient_id=patient.id, site_id=patient.site_id, item=item,
              kind="manual", check=None, status="open", message=text, params={},
              created_at=now, created_by=actor.user_id, updated_at=now)
    db.session.add(q)
    db.session.flush()
    db.session.add(QueryMessage(query_id=q.id, at=now, user_id=actor.user_id,
                                user_name=actor.name,
                                role=acting_role(actor.user, patient.site_id,
                                                 access.QUERY_MANAGE),
                                action="raise", text=text, params={}))
    audit("query.raise", actor, site_code=patient.site.code, object_type="query",
          object_id=q.id, record_id=rec.id, item=item, new="open", reason=text)
    db.session.commit()
    return q


def _from_states(q: Query, action: str) -> tuple[str, ...]:
    frm = TRANSITIONS[action][0]
    # an automatic query whose condition no longer applies after a change of the data
    # may be closed while still open (the engine noted the change in its thread)
    if action == "close" and q.kind == "auto" and q.data_changed_at is not None:
        frm = frm + ("open",)
    return frm


def allowed_actions(user, q: Query) -> list[str]:
    """The transitions the user may make on the query now."""
    return [a for a, (_frm, _to, perm, _req) in TRANSITIONS.items()
            if q.status in _from_states(q, a) and access.can(user, perm, q.site_id)]


def transition(actor: Actor, patient, q: Query, action: str, text: str | None) -> Query:
    """answer | close | reopen | cancel, with the permission the role table gives, from
    the states the workflow allows; every transition is audited and kept in the thread."""
    from ..signing.locks import assert_writable
    if action not in TRANSITIONS:
        raise NotFound(_l("Unknown action."))
    _frm, to, perm, required = TRANSITIONS[action]
    frm = _from_states(q, action)
    if q.patient_id != patient.id:
        raise NotFound(_l("Query not found."))
    access.require(actor.user, perm, q.site_id)
    assert_writable(patient)
    # one transition at a time: lock the row and re-read it (PostgreSQL)
    q = db.session.scalars(select(Query).where(Query.id == q.id)
                           .with_for_update(of=Query)
                           .execution_options(populate_existing=True)).one()
    frm = _from_states(q, action)
    if q.status not in frm:
        raise Conflict(_l("Not possible: the query is in the state “%(state)s”."),
                       state=_(STATE_LABELS[q.status]))
    text = _clean(text, required, _l("Give a reason for cancelling this query.")
                  if action == "cancel" else _l("Write a message."))
    now, old = utcnow(), q.status
    q.status, q.updated_at = to, now
    if action == "reopen":
        q.data_changed_at = None
    db.session.add(QueryMessage(query_id=q.id, at=now, user_id=actor.user_id,
                                user_name=actor.name,
                                role=acting_role(actor.user, q.site_id, perm),
                                action=action, text=text, params={}))
    audit(f"query.{action}", actor, site_code=patient.site.code, object_type="query",
          object_id=q.id, record_id=q.record_id, item=q.item, old=old, new=to,
          reason=text or None)
    db.session.commit()
    return q


def note_data_change(actor: Actor, patient, rec, changed: list[str]) -> None:
    """In the caller's transaction: the site corrected an item with an open manual query,
    so the query is answered (the monitor then closes or re-opens it)."""
    if not changed:
        return
    qs = list(db.session.scalars(select(Query).where(
        Query.record_id == rec.id, Query.kind == "manual", Query.status == "open",
        Query.item.in_(changed))))
    now = utcnow()
    for q in qs:
        q.status, q.updated_at = "answered", now
        db.session.add(QueryMessage(query_id=q.id, at=now, user_id=actor.user_id,
                                    user_name=actor.name,
                                    role=acting_role(actor.user, patient.site_id,
                                                     access.CRF_EDIT),
                                    action="corrected", text=DATA_CORRECTED))
        audit("query.answer", actor, site_code=patient.site.code, object_type="query",
              object_id=q.id, record_id=rec.id, item=q.item, old="open", new="answered",
              reason="data changed")


def get_query(user, query_id: int) -> Query:
    """A query the user may see (CRF_VIEW at its site); NotFound otherwise."""
    q = db.session.get(Query, query_id)
    if q is None or not access.can(user, access.CRF_VIEW, q.site_id):
        raise NotFound(_l("Query not found."))
    return q


def age_days(q: Query, now=None) -> int:
    now = now or utcnow()
    return max(0, (now - q.created_at).days)


def band_of(days: int) -> str:
    for key, _label, lo, hi in AGE_BANDS:
        if days >= lo and (hi is None or days <= hi):
            return key
    return AGE_BANDS[-1][0]


def list_queries(site_ids: list[int], *, state: str | None = None, age: str | None = None,
                 form: str | None = None, visit: str | None = None,
                 patient: str | None = None, raised_by: int | None = None,
                 limit: int = 500) -> list[Query]:
    """Queries of the sites, filtered. ``state``: a state, or "active" (open or
    answered); ``age``: an AGE_BANDS key (days since raised)."""
    from datetime import timedelta

    from ..crf.models import FormRecord
    from ..patients.models import Patient
    if not site_ids:
        return []
    q = (select(Query).join(FormRecord, FormRecord.id == Query.record_id)
         .join(Patient, Patient.id == Query.patient_id)
         .where(Query.site_id.in_(site_ids)))
    if state == "active":
        q = q.where(Query.status.in_(ACTIVE))
    elif state in QUERY_STATES:
        q = q.where(Query.status == state)
    if form:
        q = q.where(FormRecord.form_oid == form)
    if visit:
        q = q.where(FormRecord.visit_code == visit)
    if patient:
        q = q.where(Patient.pseudonym == patient.strip().upper())
    if raised_by is not None:
        q = q.where(Query.created_by == raised_by, Query.kind == "manual")
    band = next((b for b in AGE_BANDS if b[0] == age), None)
    if band is not None:
        now = utcnow()
        _key, _label, lo, hi = band
        q = q.where(Query.created_at <= now - timedelta(days=lo))
        if hi is not None:
            q = q.where(Query.created_at > now - timedelta(days=hi + 1))
    return list(db.session.scalars(q.order_by(Query.created_at, Query.id).limit(limit)))


def age_band_counts(site_ids: list[int]) -> dict[int, dict[str, int]]:
    """Active queries per site per age band."""
    from sqlalchemy import select as _select
    out = {sid: {b[0]: 0 for b in AGE_BANDS} for sid in site_ids}
    if not site_ids:
        return out
    now = utcnow()
    for sid, created in db.session.execute(_select(Query.site_id, Query.created_at).where(
            Query.site_id.in_(site_ids), Query.status.in_(ACTIVE))):
        out[sid][band_of(max(0, (now - created).days))] += 1
    return out


@cache
def _patient_counts_statement():
    """Built once (the patient page runs it)."""
    from ..crf.models import FormRecord
    return select(Query.record_id, FormRecord.visit_code, Query.status).join(
        FormRecord, FormRecord.id == Query.record_id).where(
        Query.patient_id == bindparam("pid"), Query.status.in_(ACTIVE))


@dataclass
class PatientQueryCounts:
    """A patient's active queries, counted per record and per visit (one statement)."""
    by_record: dict[int, int] = field(default_factory=dict)   # record id -> n
    #: visit code -> {"open": n, "answered": m}
    by_visit: dict[str, dict[str, int]] = field(default_factory=dict)


def patient_counts(patient_id: int) -> PatientQueryCounts:
    """Active queries of a patient per record (as :func:`open_counts`) and per visit."""
    out = PatientQueryCounts()
    for rid, visit, status in db.session.execute(_patient_counts_statement(),
                                                 {"pid": patient_id}):
        out.by_record[rid] = out.by_record.get(rid, 0) + 1
        d = out.by_visit.setdefault(visit, {"open": 0, "answered": 0})
        d[status] += 1
    return out

"""Data queries. This module holds the automatic queries raised by the eCRF engine."""
from __future__ import annotations

from sqlalchemy import select

from ..audit.services import Actor, record as audit
from ..crf.values import N_
from ..db import utcnow
from ..extensions import db
from .models import Query, QueryMessage

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
    from sqlalchemy import func
    if not record_ids:
        return {}
    return dict(db.session.execute(
        select(Query.record_id, func.count(Query.id))
        .where(Query.record_id.in_(record_ids), Query.status.in_(ACTIVE))
        .group_by(Query.record_id)).all())

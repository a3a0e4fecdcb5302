"""Writing and verifying the audit trail.

Every service that changes data calls :func:`record` inside its own transaction, so the
data and its audit rows commit (or roll back) together.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import bindparam, insert, select, update

from ..db import utcnow
from ..extensions import db
from .models import GENESIS_HASH, AuditEvent, AuditHead

HASHED_FIELDS = (
    "id", "at", "user_id", "user_name", "site_code", "action", "object_type", "object_id",
    "record_id", "item", "old_value", "new_value", "reason", "ip", "prev_hash",
)


@dataclass(frozen=True)
class Actor:
    """Who does something, and from where: passed explicitly to every service."""

    user_id: int | None
    name: str | None
    ip: str | None = None
    #: the User object, for permission checks in services (not part of equality)
    user: object = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, user, ip: str | None = None) -> "Actor":
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(None, None, ip)
        return cls(user.id, user.name, ip, user)


SYSTEM = Actor(None, "system")


# Canonical JSON (built once: json.dumps with options builds an encoder per call)
_VALUE_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                               default=str)
_HASH_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def encode(value: Any) -> str | None:
    """Audit values are stored as canonical JSON, so None, "" and 0 stay distinct."""
    if value is None:
        return None
    return _VALUE_JSON.encode(value)


def decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def event_hash(ev: AuditEvent) -> str:
    return _hash_fields({f: getattr(ev, f) for f in HASHED_FIELDS})


def _hash_fields(row: dict) -> str:
    data = {f: row[f] for f in HASHED_FIELDS}
    data["at"] = data["at"].isoformat()
    return hashlib.sha256(_HASH_JSON.encode(data).encode("utf-8")).hexdigest()


def record(action: str, actor: Actor, *, site_code: str | None = None,
           object_type: str | None = None, object_id: Any = None,
           record_id: int | None = None, item: str | None = None, old: Any = None,
           new: Any = None, reason: str | None = None) -> dict:
    """Append one event to the chain, in the caller's transaction (not committed here)."""
    return record_many(actor, [dict(
        action=action, site_code=site_code, object_type=object_type, object_id=object_id,
        record_id=record_id, item=item, old=old, new=new, reason=reason)])[0]


def record_many(actor: Actor, events: list[dict]) -> list[dict]:
    """Append several events (e.g. one per changed item) with one lock of the head.

    Each dict holds the keyword arguments of :func:`record` except ``actor``. The rows are
    inserted with one executemany (Core), in the caller's transaction.
    """
    if not events:
        return []
    # Core statements on the session's connection (same transaction): the ORM's bulk
    # insert and its identity-map bookkeeping cost more than the whole rest of a save.
    db.session.flush()  # the caller's pending data rows first (as autoflush would)
    conn = db.session.connection()
    # Lock the head row first: appends are serialised, so the chain cannot fork. The
    # UPDATE … RETURNING reads the new length and the last hash under that lock, in the
    # same statement (PostgreSQL, and SQLite ≥ 3.35).
    last, prev = conn.execute(_BUMP_HEAD, {"n": len(events)}).one()
    seq = last - len(events)
    at = utcnow()
    at_text = at.isoformat()  # as _hash_fields writes it, once for the batch
    rows = []
    for e in events:
        seq += 1
        oid = e.get("object_id")
        row = dict(
            id=seq, at=at, user_id=actor.user_id, user_name=actor.name,
            site_code=e.get("site_code"), action=e["action"],
            object_type=e.get("object_type"), object_id=None if oid is None else str(oid),
            record_id=e.get("record_id"), item=e.get("item"), old_value=encode(e.get("old")),
            new_value=encode(e.get("new")), reason=e.get("reason"), ip=actor.ip,
            prev_hash=prev)
        # the row holds exactly HASHED_FIELDS here: _hash_fields without its copy
        hashed = dict(row, at=at_text)
        row["hash"] = prev = hashlib.sha256(
            _HASH_JSON.encode(hashed).encode("utf-8")).hexdigest()
        rows.append(row)
    conn.execute(_INSERT_EVENTS, rows)
    conn.execute(_SET_HEAD_HASH, {"h": prev})
    return rows


_HEAD = AuditHead.__table__
_BUMP_HEAD = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("n"))
              .returning(_HEAD.c.seq, _HEAD.c.last_hash))
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("h"))
_INSERT_EVENTS = insert(AuditEvent.__table__)


def ensure_head() -> None:
    """Create the head row if missing (a fresh database); the migration also inserts it."""
    if db.session.get(AuditHead, 1) is None:
        db.session.add(AuditHead(id=1, seq=0, last_hash=GENESIS_HASH))
        db.session.commit()


@dataclass
class VerifyResult:
    ok: bool
    count: int
    broken_id: int | None = None
    problem: str | None = None


def _events(batch: int = 2000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last)
                                  .order_by(AuditEvent.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        db.session.expunge_all()


def verify() -> VerifyResult:
    """Walk the whole chain: ids without gaps, each prev_hash links, each hash recomputes."""
    expected_id, prev, count = 1, GENESIS_HASH, 0
    for ev in _events():
        if ev.id != expected_id:
            return VerifyResult(False, count, expected_id,
                                f"row {expected_id} is missing (next row is {ev.id})")
        if ev.prev_hash != prev:
            return VerifyResult(False, count, ev.id,
                                f"row {ev.id} does not link to row {ev.id - 1}")
        if event_hash(ev) != ev.hash:
            return VerifyResult(False, count, ev.id, f"row {ev.id} was altered")
        prev, expected_id, count = ev.hash, ev.id + 1, count + 1
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.last_hash != prev):
        return VerifyResult(False, count, count + 1,
                            f"the chain ends at row {count} but {head.seq} rows were written")
    return VerifyResult(True, count)

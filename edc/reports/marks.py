"""Status marks printed in a casebook: source data verification, locks and signatures.

Read-only views of the tables of ``edc/queries`` (SdvMark) and ``edc/signing``
(DataLock, Signature). A part whose model is not there prints "not available" rather
than failing, so the printed records work on a database without those features.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from ..extensions import db

try:  # SDV marks (issue 5)
    from ..queries.models import SdvMark
except ImportError:  # pragma: no cover - the feature is not installed
    SdvMark = None
try:  # locks and e-signatures (issue 5)
    from ..signing.models import DataLock, Signature
except ImportError:  # pragma: no cover
    DataLock = Signature = None


@dataclass
class PatientMarks:
    sdv_available: bool = False
    locks_available: bool = False
    signatures_available: bool = False
    sdv: dict[int, list[Any]] = field(default_factory=dict)           # record id → marks
    record_locks: dict[int, list[Any]] = field(default_factory=dict)  # record id → locks
    patient_locks: list[Any] = field(default_factory=list)
    site_locks: list[Any] = field(default_factory=list)
    signatures: list[Any] = field(default_factory=list)

    def visit_signatures(self, visit_code: str) -> list[Any]:
        return [s for s in self.signatures if s.scope == "visit"
                and s.visit_code == visit_code]

    def casebook_signatures(self) -> list[Any]:
        return [s for s in self.signatures if s.scope != "visit"]


def load(patient, record_ids: list[int]) -> PatientMarks:
    out = PatientMarks()
    if SdvMark is not None:
        out.sdv_available = True
        if record_ids:
            for m in db.session.scalars(select(SdvMark).where(
                    SdvMark.record_id.in_(record_ids)).order_by(SdvMark.id)):
                out.sdv.setdefault(m.record_id, []).append(m)
    if DataLock is not None:
        out.locks_available = True
        conds = [DataLock.patient_id == patient.id,
                 (DataLock.scope == "site") & (DataLock.site_id == patient.site_id)]
        if record_ids:
            conds.append(DataLock.record_id.in_(record_ids))
        for lk in db.session.scalars(select(DataLock).where(or_(*conds))
                                     .order_by(DataLock.id)):
            if lk.scope == "form" and lk.record_id is not None:
                out.record_locks.setdefault(lk.record_id, []).append(lk)
            elif lk.scope == "patient":
                out.patient_locks.append(lk)
            elif lk.scope == "site":
                out.site_locks.append(lk)
    if Signature is not None:
        out.signatures_available = True
        out.signatures = list(db.session.scalars(select(Signature).where(
            Signature.patient_id == patient.id).order_by(Signature.signed_at,
                                                         Signature.id)))
    return out


@dataclass
class SdvStatus:
    state: str            # verified | partial | not_verified | not_available
    verified: int = 0
    total: int = 0
    last_at: Any = None
    last_by: str | None = None


def sdv_status(marks: PatientMarks, record, form) -> SdvStatus:
    """As ``edc/queries/sdv.py`` counts it: a record is verified when it is complete and
    every entered item of its form has an active (not cleared) mark."""
    if not marks.sdv_available:
        return SdvStatus("not_available")
    items = [i.name for i in form.entered]
    active = {m.item: m for m in marks.sdv.get(record.id, []) if m.cleared_at is None}
    done = [n for n in items if n in active]
    last = max((active[n] for n in done), key=lambda m: m.verified_at, default=None)
    if record.status == "complete" and items and len(done) == len(items):
        state = "verified"
    elif done:
        state = "partial"
    else:
        state = "not_verified"
    return SdvStatus(state, len(done), len(items), last.verified_at if last else None,
                     last.verified_by_name if last else None)


def active_locks(locks: list[Any]) -> list[Any]:
    return [lk for lk in locks if lk.active and lk.unlocked_at is None]

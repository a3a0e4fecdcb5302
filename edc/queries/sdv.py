"""Source data verification: a monitor verifies a form, or single items, against source.

A later change to a verified item clears its verification (the mark stays, with who
changed it and when), and the change is audited. A record counts as verified when it is
complete and every entered item of its form has an active mark.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import access
from ..audit.services import Actor, record_many as audit_many
from ..crf import catalog as cat
from ..crf.models import FormRecord
from ..db import utcnow
from ..errors import NotFound, ServiceError
from ..extensions import db
from .models import SdvMark

LIVE = ("in_progress", "complete")


def _entered(record: FormRecord) -> list[str]:
    form = cat.form_version(record.form_oid, record.form_version)
    return [i.name for i in form.entered]


def marks(record_ids: list[int]) -> dict[int, dict[str, SdvMark]]:
    """Per record, per item: its newest mark (active, or cleared by a change)."""
    out: dict[int, dict[str, SdvMark]] = {}
    if not record_ids:
        return out
    for m in db.session.scalars(select(SdvMark).where(SdvMark.record_id.in_(record_ids))
                                .order_by(SdvMark.id)):
        out.setdefault(m.record_id, {})[m.item] = m
    return out


def record_verified(record: FormRecord, item_marks: dict[str, SdvMark]) -> bool:
    if record.status != "complete":
        return False
    return all(item_marks.get(n) is not None and item_marks[n].cleared_at is None
               for n in _entered(record))


def verify(actor: Actor, patient, record: FormRecord, items: list[str] | None) -> int:
    """Mark items (``None``: every entered item of the form) as verified. Returns the
    number of items newly verified."""
    from ..signing.locks import assert_writable
    access.require(actor.user, access.SDV, patient.site_id)
    if record.patient_id != patient.id or record.status not in LIVE:
        raise NotFound(_l("Record not found."))
    assert_writable(patient)
    entered = _entered(record)
    whole = items is None
    if whole:
        if record.status != "complete":
            raise ServiceError(_l("Only a complete form can be verified as a whole."))
        items = entered
    unknown = [i for i in items if i not in entered]
    if unknown or not items:
        raise ServiceError(_l("Choose items of this form to verify."))
    current = marks([record.id]).get(record.id, {})
    now, events = utcnow(), []
    for name in items:
        m = current.get(name)
        if m is not None and m.cleared_at is None:
            continue
        db.session.add(SdvMark(record_id=record.id, patient_id=patient.id,
                               site_id=patient.site_id, item=name, whole_form=whole,
                               verified_at=now, verified_by=actor.user_id,
                               verified_by_name=actor.name))
        events.append(dict(action="sdv.verify", site_code=patient.site.code,
                           object_type="record",
                           object_id=f"{patient.pseudonym}/{record.visit_code}/"
                                     f"{record.form_oid}#{record.seq}",
                           record_id=record.id, item=name, new="verified"))
    audit_many(actor, events)
    db.session.commit()
    return len(events)


def clear_on_change(actor: Actor, patient, record: FormRecord, changed: list[str]) -> int:
    """In the caller's transaction: clear the active marks of the changed items."""
    if not changed or record.id is None:
        return 0
    active = list(db.session.scalars(select(SdvMark).where(
        SdvMark.record_id == record.id, SdvMark.item.in_(changed),
        SdvMark.cleared_at.is_(None))))
    now, events = utcnow(), []
    for m in active:
        m.cleared_at, m.cleared_by, m.cleared_by_name = now, actor.user_id, actor.name
        events.append(dict(action="sdv.cleared", site_code=patient.site.code,
                           object_type="record",
                           object_id=f"{patient.pseudonym}/{record.visit_code}/"
                                     f"{record.form_oid}#{record.seq}",
                           record_id=record.id, item=m.item, old="verified",
                           new="cleared", reason="data changed"))
    audit_many(actor, events)
    return len(events)


@dataclass
class Progress:
    complete: int = 0
    verified: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.verified / self.complete) if self.complete else 0

    @property
    def backlog(self) -> int:
        return self.complete - self.verified


def progress(site_ids: list[int]) -> tuple[dict[int, Progress], dict[int, Progress]]:
    """SDV progress (forms complete, forms verified, %) per site and per patient."""
    recs = list(db.session.scalars(select(FormRecord).where(
        FormRecord.site_id.in_(site_ids), FormRecord.status == "complete")))
    by_rec: dict[int, dict[str, SdvMark]] = {}
    for m in db.session.scalars(select(SdvMark).where(SdvMark.site_id.in_(site_ids))
                                .order_by(SdvMark.id)):
        by_rec.setdefault(m.record_id, {})[m.item] = m
    per_site: dict[int, Progress] = {sid: Progress() for sid in site_ids}
    per_patient: dict[int, Progress] = {}
    for r in recs:
        ok = record_verified(r, by_rec.get(r.id, {}))
        for p in (per_site.setdefault(r.site_id, Progress()),
                  per_patient.setdefault(r.patient_id, Progress())):
            p.complete += 1
            p.verified += ok
    return per_site, per_patient

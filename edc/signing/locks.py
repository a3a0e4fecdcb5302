"""Locks: a data manager freezes a form record, or locks a patient or a whole site.

Locked data refuse every change. The check lives here, in the service layer, and every
writing service calls :func:`assert_writable` (the eCRF engine's save and remove, queries,
SDV, signatures), so no route can bypass it.

- a frozen form refuses changes to its data; queries, SDV and signatures go on;
- a locked patient or site refuses everything: data, queries, SDV, signatures.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from .. import access
from ..audit.services import Actor, record as audit
from ..db import utcnow
from ..errors import Conflict, NotFound, ServiceError
from ..extensions import db
from .models import DataLock

LOCKED_SITE = _l("The data of this site are locked: no change is possible. A data manager "
                 "can unlock them, with a reason.")
LOCKED_PATIENT = _l("This patient's data are locked: no change is possible. A data manager "
                    "can unlock them, with a reason.")
FROZEN_FORM = _l("This form is frozen: its data cannot be changed. A data manager can "
                 "unfreeze it, with a reason.")


class Locked(Conflict):
    """A change refused because the data are locked."""


def active_locks(patient, record=None) -> list[DataLock]:
    """The active locks that cover the patient (site and patient locks) and the record."""
    conds = [and_(DataLock.scope == "site", DataLock.site_id == patient.site_id),
             and_(DataLock.scope == "patient", DataLock.patient_id == patient.id)]
    if record is not None and record.id is not None:
        conds.append(and_(DataLock.scope == "form", DataLock.record_id == record.id))
    return list(db.session.scalars(select(DataLock).where(DataLock.active.is_(True),
                                                          or_(*conds))
                                   .order_by(DataLock.id)))


def assert_writable(patient, record=None) -> None:
    """Refuse (Locked, a translated message) if the site or the patient is locked, or the
    record, when given, is frozen; and everything while a database lock is in force."""
    from ..exports.services import database_lock_message
    db_locked = database_lock_message()
    if db_locked is not None:
        raise Locked(db_locked)
    locks = active_locks(patient, record)
    for scope, message in (("site", LOCKED_SITE), ("patient", LOCKED_PATIENT),
                           ("form", FROZEN_FORM)):
        if any(lk.scope == scope for lk in locks):
            raise Locked(message)


def assert_site_writable(site_id: int) -> None:
    """For writes that concern a site but no existing patient yet (registration)."""
    from ..exports.services import database_lock_message
    db_locked = database_lock_message()
    if db_locked is not None:
        raise Locked(db_locked)
    if db.session.scalar(select(DataLock.id).where(
            DataLock.active.is_(True), DataLock.scope == "site",
            DataLock.site_id == site_id).limit(1)) is not None:
        raise Locked(LOCKED_SITE)


def lock_state(patient, record=None) -> dict[str, DataLock]:
    """{"site"|"patient"|"form": the active lock} for display."""
    return {lk.scope: lk for lk in active_locks(patient, record)}


def site_locks(site_id: int, *, active_only: bool = True) -> list[DataLock]:
    q = select(DataLock).where(DataLock.site_id == site_id)
    if active_only:
        q = q.where(DataLock.active.is_(True))
    return list(db.session.scalars(q.order_by(DataLock.id.desc())))


def _new_lock(actor: Actor, scope: str, site, *, patient=None, record=None,
              reason: str | None, object_id: str) -> DataLock:
    access.require(actor.user, access.LOCK, site.id)
    now = utcnow()
    lk = DataLock(scope=scope, site_id=site.id,
                  patient_id=patient.id if patient is not None else None,
                  record_id=record.id if record is not None else None, active=True,
                  locked_at=now, locked_by=actor.user_id, locked_by_name=actor.name,
                  reason=(reason or "").strip() or None)
    db.session.add(lk)
    db.session.flush()
    audit(f"lock.{scope}", actor, site_code=site.code, object_type="lock", object_id=lk.id,
          record_id=record.id if record is not None else None, new=object_id,
          reason=lk.reason)
    db.session.commit()
    return lk


def freeze_form(actor: Actor, patient, record, reason: str | None = None) -> DataLock:
    if record.patient_id != patient.id or record.status == "removed":
        raise NotFound(_l("Record not found."))
    access.require(actor.user, access.LOCK, patient.site_id)
    if any(lk.scope == "form" for lk in active_locks(patient, record)):
        raise Conflict(_l("This form is already frozen."))
    return _new_lock(actor, "form", patient.site, patient=patient, record=record,
                     reason=reason,
                     object_id=f"{patient.pseudonym}/{record.visit_code}/{record.form_oid}"
                               f"#{record.seq}")


def lock_patient(actor: Actor, patient, reason: str | None = None) -> DataLock:
    access.require(actor.user, access.LOCK, patient.site_id)
    if any(lk.scope == "patient" for lk in active_locks(patient)):
        raise Conflict(_l("This patient is already locked."))
    return _new_lock(actor, "patient", patient.site, patient=patient, reason=reason,
                     object_id=patient.pseudonym)


def lock_site(actor: Actor, site, reason: str | None = None) -> DataLock:
    access.require(actor.user, access.LOCK, site.id)
    if db.session.scalars(select(DataLock.id).where(
            DataLock.scope == "site", DataLock.site_id == site.id,
            DataLock.active.is_(True))).first() is not None:
        raise Conflict(_l("This site is already locked."))
    return _new_lock(actor, "site", site, reason=reason, object_id=site.code)


def get_lock(actor: Actor, lock_id: int) -> DataLock:
    """A lock of a site where the user may lock; NotFound otherwise (even if it exists)."""
    lk = db.session.get(DataLock, lock_id)
    if lk is None or not access.can(actor.user, access.PATIENT_VIEW, lk.site_id):
        raise NotFound(_l("Lock not found."))
    return lk


def unlock(actor: Actor, lock: DataLock, reason: str) -> DataLock:
    """Unlocking needs a data manager of the site and a reason; the lock row stays."""
    access.require(actor.user, access.LOCK, lock.site_id)
    if not lock.active:
        raise Conflict(_l("This lock was already lifted."))
    if not (reason or "").strip():
        raise ServiceError(_l("Give a reason for unlocking."))
    from ..sites.models import Site
    site = db.session.get(Site, lock.site_id)
    lock.active = False
    lock.unlocked_at, lock.unlocked_by = utcnow(), actor.user_id
    lock.unlocked_by_name, lock.unlock_reason = actor.name, reason.strip()
    audit(f"unlock.{lock.scope}", actor, site_code=site.code, object_type="lock",
          object_id=lock.id, record_id=lock.record_id, old="locked", new="unlocked",
          reason=lock.unlock_reason)
    db.session.commit()
    return lock

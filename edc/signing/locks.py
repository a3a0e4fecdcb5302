"""Locks: a data manager freezes a form record, or locks a patient or a whole site.

Locked data refuse every change. The check lives here, in the service layer, and every
writing service calls :func:`assert_writable` (the eCRF engine's save and remove, queries,
SDV, signatures), so no route can bypass it.

- a frozen form refuses changes to its data; queries, SDV and signatures go on;
- a locked patient or site refuses everything: data, queries, SDV, signatures.

No write slips in after a lock. A writer checks, then writes, then commits; a lock taken
between its check and its commit must not let the write land after the lock. So the check
and the taking of a lock exclude each other, on the rows a lock is about:

- PostgreSQL: :func:`assert_writable` first takes ``FOR KEY SHARE`` row locks on the
  patient's site and patient rows (and the record's, when given), then reads the lock
  state in a new statement (READ COMMITTED: a fresh snapshot); the row locks are held
  until the writer commits. Taking a lock takes ``FOR UPDATE`` on the same rows (every
  site row for a database lock, :func:`hold_all_writers`) *before* it reads the lock
  state: it waits for the writers that passed their check to commit, and writers that
  come later wait at their check until the lock commits, then see it and are refused.
  ``FOR KEY SHARE`` does not conflict with itself nor with ordinary updates (``FOR NO
  KEY UPDATE``, e.g. the site's patient counter), so writers never wait for each other
  here — only for a lock being taken.
- SQLite: one writer at a time for the whole file, but the driver begins the write
  transaction at the first INSERT/UPDATE/DELETE: a check (SELECTs) runs before it, so a
  lock could commit in between. :func:`assert_writable` and the lock takers therefore
  begin the write transaction first (a no-op UPDATE takes SQLite's RESERVED lock), then
  read the lock state: check and write are one transaction that no other writer can
  interleave with (others wait, up to the busy timeout).
"""
from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, text

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
    rid = record.id if record is not None else None  # NULL: no form lock matches
    return list(db.session.scalars(_active_locks_statement(), {
        "sid": patient.site_id, "pid": patient.id, "rid": rid}))


def covering(site, patient, record):
    """The active locks covering what ``site``, ``patient`` and ``record`` select: each
    a function from the lock's site, patient or record id column to a condition (``==``
    a bound parameter for the write check, ``IN`` lists for the status icons). The one
    definition of which lock covers what."""
    return and_(DataLock.active.is_(True), or_(
        and_(DataLock.scope == "site", site(DataLock.site_id)),
        and_(DataLock.scope == "patient", patient(DataLock.patient_id)),
        and_(DataLock.scope == "form", record(DataLock.record_id))))


def _covering():
    """:func:`covering` a site (:sid), a patient (:pid) and a record (:rid; NULL matches
    no form lock): the condition of the write check and of the display."""
    from sqlalchemy import bindparam
    return covering(lambda c: c == bindparam("sid"), lambda c: c == bindparam("pid"),
                    lambda c: c == bindparam("rid"))


@cache
def _active_locks_statement():
    """Built once (the patient and eCRF pages run it)."""
    return select(DataLock).where(_covering()).order_by(DataLock.id)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _sqlite_begin_write() -> None:
    """Begin the SQLite write transaction now (RESERVED lock): matches no row."""
    db.session.execute(text("UPDATE audit_head SET seq = seq WHERE 0 = 1"))


def _hold_for_write(patient=None, record=None, site_id: int | None = None) -> None:
    """A writer, before it reads the lock state: no lock on these rows can be taken until
    it commits or rolls back (see the module's docstring)."""
    dialect = _dialect()
    if dialect == "postgresql":
        st = _statements()
        if patient is None:
            params, q = {"sid": site_id}, st["hold_site"]
        elif record is not None and record.id is not None:
            params, q = {"pid": patient.id, "rid": record.id}, st["hold_record"]
        else:
            params, q = {"pid": patient.id}, st["hold_patient"]
        db.session.connection().execute(q, params).all()
    elif dialect == "sqlite":
        _sqlite_begin_write()


@cache
def _statements() -> dict:
    """The statements every save runs, built once (Core, bound parameters)."""
    from sqlalchemy import bindparam, literal

    from ..crf.models import FormRecord
    from ..exports.models import in_force
    from ..patients.models import Patient
    from ..sites.models import Site
    site, pat, rec = Site.__table__, Patient.__table__, FormRecord.__table__
    pid, rid = bindparam("pid"), bindparam("rid")
    by_patient = select(site.c.id, pat.c.id).join(pat, pat.c.site_id == site.c.id) \
        .where(pat.c.id == pid)
    return dict(
        hold_site=select(site.c.id).where(site.c.id == bindparam("sid"))
        .with_for_update(read=True, key_share=True),
        hold_patient=by_patient.with_for_update(read=True, key_share=True),
        hold_record=by_patient.add_columns(rec.c.id)
        .join(rec, rec.c.patient_id == pat.c.id).where(rec.c.id == rid)
        .with_for_update(read=True, key_share=True),
        # the database lock and the site/patient/form locks in one statement; a
        # NULL record id matches no form lock
        scopes=select(DataLock.scope).where(_covering()).union_all(
            select(literal("database")).where(in_force())))


def _exclude_writers(*, site=None, patient=None, record=None) -> None:
    """Taking a lock, before reading the lock state: wait for the writers of these rows
    that passed their check, and hold new ones at their check until this lock commits."""
    dialect = _dialect()
    if dialect == "postgresql":
        from ..crf.models import FormRecord
        from ..patients.models import Patient
        from ..sites.models import Site
        for model, obj in ((Site, site), (Patient, patient), (FormRecord, record)):
            if obj is not None:
                db.session.execute(select(model.id).where(model.id == obj.id)
                                   .with_for_update()).all()
    elif dialect == "sqlite":
        _sqlite_begin_write()


def hold_all_writers() -> None:
    """Taking a database lock: exclude the writers of every site (edc.exports), and on
    PostgreSQL also any writer of form records that would not check (table SHARE lock,
    taken after the row locks: writers that checked hold a site row lock first)."""
    dialect = _dialect()
    if dialect == "postgresql":
        from ..sites.models import Site
        db.session.execute(select(Site.id).order_by(Site.id).with_for_update()).all()
        db.session.execute(text("LOCK TABLE form_record IN SHARE MODE"))
    elif dialect == "sqlite":
        _sqlite_begin_write()


def assert_writable(patient, record=None) -> None:
    """Refuse (Locked, a translated message) if the site or the patient is locked, or the
    record, when given, is frozen; and everything while a database lock is in force.

    Call it in the transaction that writes, before writing: until that transaction ends,
    no lock on this patient (its site, the record) can be taken (module docstring)."""
    _hold_for_write(patient, record)
    from ..exports.services import database_lock_message
    rid = record.id if record is not None else None
    scopes = set(db.session.connection().execute(_statements()["scopes"], {
        "sid": patient.site_id, "pid": patient.id, "rid": rid}).scalars())
    if "database" in scopes:
        raise Locked(database_lock_message())
    for scope, message in (("site", LOCKED_SITE), ("patient", LOCKED_PATIENT),
                           ("form", FROZEN_FORM)):
        if scope in scopes:
            raise Locked(message)


def assert_site_writable(site_id: int) -> None:
    """For writes that concern a site but no existing patient yet (registration)."""
    _hold_for_write(site_id=site_id)
    from ..exports.services import database_lock_message
    db_locked = database_lock_message()
    if db_locked is not None:
        raise Locked(db_locked)
    if db.session.scalar(select(DataLock.id).where(
            DataLock.active.is_(True), DataLock.scope == "site",
            DataLock.site_id == site_id).limit(1)) is not None:
        raise Locked(LOCKED_SITE)


def locks_by_scope(ids) -> dict[str, DataLock]:
    """{"site"|"patient"|"form": the lock} of these active locks, for display (their ids
    read by crf.record_status.read_covers)."""
    return {lk.scope: lk for lk in db.session.scalars(
        select(DataLock).where(DataLock.id.in_(ids)).order_by(DataLock.id))}


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
    _exclude_writers(record=record)
    if any(lk.scope == "form" for lk in active_locks(patient, record)):
        raise Conflict(_l("This form is already frozen."))
    return _new_lock(actor, "form", patient.site, patient=patient, record=record,
                     reason=reason,
                     object_id=f"{patient.pseudonym}/{record.visit_code}/{record.form_oid}"
                               f"#{record.seq}")


def lock_patient(actor: Actor, patient, reason: str | None = None) -> DataLock:
    access.require(actor.user, access.LOCK, patient.site_id)
    _exclude_writers(patient=patient)
    if any(lk.scope == "patient" for lk in active_locks(patient)):
        raise Conflict(_l("This patient is already locked."))
    return _new_lock(actor, "patient", patient.site, patient=patient, reason=reason,
                     object_id=patient.pseudonym)


def lock_site(actor: Actor, site, reason: str | None = None) -> DataLock:
    access.require(actor.user, access.LOCK, site.id)
    _exclude_writers(site=site)
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

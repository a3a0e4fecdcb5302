"""Database lock, snapshots, working exports and their downloads.

- A data manager (permission LOCK at every site) locks the whole trial, or an interim cut
  with a name and a cut-off date. What blocks a lock is listed (open queries, forms not
  complete, visits not signed, and forms not verified when SDV_REQUIRED); a full lock
  needs none, an interim cut may go ahead with a reason, which is recorded.
- Locking freezes the data (every eCRF write is refused: signing/locks.py asks
  :func:`database_lock_message`), takes a snapshot and audits both. Unlocking needs a
  reason; the next lock takes a new snapshot version; old snapshots stay.
- Snapshots are written once into SNAPSHOT_DIR/<name>/, read-only, with a signed
  manifest; downloads serve the stored bytes and are audited.
- A working export (permission WORKING_EXPORT) holds the user's sites' current data and
  is marked NOT LOCKED everywhere, including its manifest.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import access
from ..audit.services import Actor, record as audit
from ..crf import catalog as cat
from ..db import utcnow
from ..errors import Conflict, Forbidden, NotFound, ServiceError
from ..extensions import db
from ..sites.models import Site
from . import manifest as mf
from .build import BuildInfo, build
from .models import DatabaseLock, Snapshot, in_force
from .source import Definitions, Scope, Source, fast_json

DATABASE_LOCKED = _l("The database is locked: no change is possible. A data manager can "
                     "unlock it for a correction, with a reason.")
DETAIL_LIMIT = 500
#: a snapshot still "building" after this long was abandoned (its process stopped)
ABANDONED_AFTER = timedelta(hours=1)
BLOCKER_CATEGORIES = ("open_queries", "incomplete_forms", "unsigned_visits",
                      "unverified_forms")


# ---------------------------------------------------------------- the lock in force
def active_lock() -> DatabaseLock | None:
    return db.session.scalars(select(DatabaseLock).where(in_force())) \
        .first()


def database_lock_message():
    """The refusal message while a database lock is in force, else None (for
    signing.locks.assert_writable, called by every writing service)."""
    locked = db.session.scalar(select(DatabaseLock.id).where(in_force()))
    return DATABASE_LOCKED if locked is not None else None


def can_lock(user) -> bool:
    return access.can_everywhere(user, access.LOCK)


def _require_lock(user) -> None:
    if not can_lock(user):
        raise Forbidden(_l("Only a data manager of every site may lock or unlock the "
                           "database."))


def _all_site_ids() -> list[int]:
    return list(db.session.scalars(select(Site.id).order_by(Site.code)))


# ---------------------------------------------------------------- blockers
@dataclass
class Blockers:
    sdv_required: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        BLOCKER_CATEGORIES, 0))
    details: dict[str, list[dict]] = field(default_factory=lambda: {
        c: [] for c in BLOCKER_CATEGORIES})

    def add(self, category: str, **detail) -> None:
        self.counts[category] += 1
        if len(self.details[category]) < DETAIL_LIMIT:
            self.details[category].append(detail)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def empty(self) -> bool:
        return self.total == 0


def blockers(cutoff: date | None = None, site_ids: list[int] | None = None) -> Blockers:
    """What blocks a lock of the records in scope (all sites; an interim cut's records)."""
    from ..queries.models import Query, SdvMark
    from ..queries.services import ACTIVE
    from ..signing.models import Signature
    site_ids = site_ids if site_ids is not None else _all_site_ids()
    sdv_required = bool(current_app.config.get("SDV_REQUIRED"))
    out = Blockers(sdv_required)
    defs = Definitions(cat.form_version)
    recs: dict[int, tuple] = {}
    visits: dict[tuple[int, str], tuple[str, str]] = {}
    with db.engine.connect() as conn, conn.begin(), fast_json(conn):
        source = Source(conn, Scope(tuple(site_ids), cutoff), defs, cat.catalog().schedule,
                        study_days=False)
        for r in source.statuses():
            recs[r.id] = (r.pseudonym, r.site, r.visit, r.oid, r.seq, r.status, r.version)
            visits.setdefault((r.patient_id, r.visit), (r.pseudonym, r.site))
            if r.status != "complete":
                out.add("incomplete_forms", record_id=r.id, patient=r.pseudonym,
                        site=r.site, visit=r.visit, form=r.oid, seq=r.seq)
    if not recs:
        return out
    for qid, rid, item in db.session.execute(
            select(Query.id, Query.record_id, Query.item)
            .where(Query.status.in_(ACTIVE), Query.site_id.in_(site_ids))
            .order_by(Query.id)):
        if rid in recs:
            p, s, v, f, seq, _st, _ver = recs[rid]
            out.add("open_queries", query_id=qid, record_id=rid, patient=p, site=s, visit=v,
                    form=f, seq=seq, item=item)
    signed_visits, casebooks = set(), set()
    for pid, scope, visit in db.session.execute(
            select(Signature.patient_id, Signature.scope, Signature.visit_code)
            .where(Signature.status == "valid", Signature.site_id.in_(site_ids))):
        if scope == "casebook":
            casebooks.add(pid)
        else:
            signed_visits.add((pid, visit))
    for (pid, visit), (p, s) in sorted(visits.items(), key=lambda kv: (kv[1][0], kv[0][1])):
        if pid not in casebooks and (pid, visit) not in signed_visits:
            out.add("unsigned_visits", patient=p, site=s, visit=visit)
    if sdv_required:
        marked = dict(db.session.execute(
            select(SdvMark.record_id, func.count(func.distinct(SdvMark.item)))
            .where(SdvMark.cleared_at.is_(None), SdvMark.site_id.in_(site_ids))
            .group_by(SdvMark.record_id)).all())
        for rid, (p, s, v, f, seq, status, ver) in sorted(recs.items()):
            needed = len(defs.get(f, ver).entered)
            if status != "complete" or marked.get(rid, 0) < needed:
                out.add("unverified_forms", record_id=rid, patient=p, site=s, visit=v,
                        form=f, seq=seq)
    return out


# ---------------------------------------------------------------- lock and unlock
def _slug(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return (s or "interim")[:40].strip("-")


def lock_database(actor: Actor, *, kind: str, name: str | None = None,
                  cutoff: date | None = None, override_reason: str | None = None,
                  odm_audit: bool = False) -> tuple[DatabaseLock, Snapshot]:
    """Lock the database (``full``) or an interim cut, then take its snapshot."""
    _require_lock(actor.user)
    name = (name or "").strip()
    reason = (override_reason or "").strip() or None
    if kind not in ("full", "interim"):
        raise ServiceError(_l("Choose a full lock or an interim cut."))
    if kind == "interim":
        if not name:
            raise ServiceError(_l("An interim cut needs a name."))
        if cutoff is None:
            raise ServiceError(_l("An interim cut needs a cut-off date."))
        if cutoff > utcnow().date():
            raise ServiceError(_l("The cut-off date cannot be in the future."))
    else:
        name = name or "Database lock"
        cutoff = None
    if len(name) > 100:
        raise ServiceError(_l("The name is too long (100 characters at most)."))
    from ..signing.locks import hold_all_writers
    # wait for the writes in flight that passed their lock check, and hold new ones at
    # their check until the lock commits (edc/signing/locks.py)
    hold_all_writers()
    if active_lock() is not None:
        raise Conflict(_l("The database is already locked."))
    found = blockers(cutoff)
    if not found.empty:
        db.session.rollback()
        if kind == "full":
            raise Conflict(_l("The database cannot be locked while something blocks it: "
                              "resolve the list first, or take an interim cut."))
        if not reason:
            raise ServiceError(_l("Something blocks this interim cut: give the reason to "
                                  "lock it anyway."))
        hold_all_writers()
    lock = DatabaseLock(kind=kind, name=name, cutoff=cutoff, status="active", active_key=1,
                        override_reason=reason if not found.empty else None,
                        blockers=dict(found.counts), locked_at=utcnow(),
                        locked_by=actor.user_id, locked_by_name=actor.name)
    db.session.add(lock)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("The database is already locked.")) from None
    audit("database.lock", actor, object_type="database_lock", object_id=lock.id,
          new={"kind": kind, "name": name, "cutoff": cutoff.isoformat() if cutoff else None,
               "blockers": dict(found.counts)}, reason=lock.override_reason)
    db.session.commit()
    snap = take_snapshot(actor, lock, odm_audit=odm_audit)
    return lock, snap


def unlock_database(actor: Actor, reason: str) -> DatabaseLock:
    """Lift the lock for a correction: a reason is required; snapshots stay."""
    _require_lock(actor.user)
    lock = active_lock()
    if lock is None:
        raise Conflict(_l("The database is not locked."))
    if not (reason or "").strip():
        raise ServiceError(_l("Give a reason for unlocking."))
    lock.status, lock.active_key = "released", None
    lock.unlocked_at, lock.unlocked_by, lock.unlocked_by_name = utcnow(), actor.user_id, \
        actor.name
    lock.unlock_reason = reason.strip()
    audit("database.unlock", actor, object_type="database_lock", object_id=lock.id,
          old="locked", new="unlocked", reason=lock.unlock_reason)
    db.session.commit()
    return lock


# ---------------------------------------------------------------- snapshots
def snapshot_root() -> Path:
    base = Path(current_app.config.get("SNAPSHOT_DIR") or "snapshots")
    if not base.is_absolute():
        base = Path(current_app.instance_path) / base
    base.mkdir(parents=True, exist_ok=True)
    return base


def snapshot_dir(snap: Snapshot) -> Path:
    return snapshot_root() / snap.name


def take_snapshot(actor: Actor, lock: DatabaseLock, *, odm_audit: bool = False,
                  operator: bool = False) -> Snapshot:
    """The snapshot of the lock in force (a failed one may be taken again). ``operator``:
    run from the server's command line, where there is no user to check."""
    if not operator:
        _require_lock(actor.user)
    if lock.status != "active":
        raise Conflict(_l("This lock was lifted: lock the database again."))
    for s in lock.snapshots:
        if s.status == "building" and s.created_at < utcnow() - ABANDONED_AFTER:
            # the process writing it stopped (e.g. a worker killed by a timeout)
            s.status, s.error = "failed", "abandoned: the process writing it stopped"
            audit("snapshot.failed", actor, object_type="snapshot", object_id=s.name,
                  reason=s.error)
            db.session.commit()
    done = [s for s in lock.snapshots if s.status in ("ready", "building")]
    if done:
        raise Conflict(_l("This lock already has its snapshot."))
    version = (db.session.scalar(select(func.max(Snapshot.version))) or 0) + 1
    slug = "full" if lock.kind == "full" else _slug(lock.name)
    sites = list(db.session.scalars(select(Site.code).order_by(Site.code)))
    snap = Snapshot(name=f"{slug}-v{version}", kind="locked", version=version,
                    lock_id=lock.id, status="building", as_of=lock.locked_at,
                    cutoff=lock.cutoff, site_codes=sites, options={"odm_audit": odm_audit},
                    created_at=utcnow(), created_by=actor.user_id,
                    created_by_name=actor.name)
    db.session.add(snap)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Another snapshot is being taken: try again.")) from None
    return _generate(actor, snap)


def working_export(actor: Actor, *, odm_audit: bool = False) -> Snapshot:
    """The current data of the user's sites, for data cleaning: NOT LOCKED."""
    site_ids = access.sites_with(actor.user, access.WORKING_EXPORT)
    if not site_ids:
        raise Forbidden(_l("You are not allowed to do this."))
    now = utcnow().replace(microsecond=0)
    codes = sorted(db.session.scalars(select(Site.code).where(Site.id.in_(site_ids))))
    base = f"working-{now:%Y%m%dT%H%M%SZ}"
    name, n = base, 1
    while db.session.scalar(select(Snapshot.id).where(Snapshot.name == name)) is not None:
        n += 1
        name = f"{base}-{n}"
    snap = Snapshot(name=name, kind="working", version=None, lock_id=None,
                    status="building", as_of=now, cutoff=None, site_codes=codes,
                    options={"odm_audit": odm_audit}, created_at=now,
                    created_by=actor.user_id, created_by_name=actor.name)
    db.session.add(snap)
    db.session.commit()
    return _generate(actor, snap)


def build_info(snap: Snapshot) -> BuildInfo:
    ids = list(db.session.scalars(select(Site.id).where(Site.code.in_(snap.site_codes))))
    lock = snap.lock
    lock_info = None
    if lock is not None:
        lock_info = {"id": lock.id, "name": lock.name, "kind": lock.kind,
                     "locked_by": lock.locked_by_name,
                     "override_reason": lock.override_reason,
                     "blockers": dict(lock.blockers or {})}
    return BuildInfo(name=snap.name, locked=snap.kind == "locked",
                     kind=lock.kind if lock is not None else "working",
                     as_of=snap.as_of, site_ids=tuple(ids), version=snap.version,
                     cutoff=snap.cutoff, lock=lock_info,
                     taken_by=snap.created_by_name if snap.kind == "working" else None,
                     odm_audit=bool((snap.options or {}).get("odm_audit")))


def _generate(actor: Actor, snap: Snapshot) -> Snapshot:
    root = snapshot_root()
    tmp = root / f".{snap.name}.partial-{uuid.uuid4().hex[:8]}"
    final = root / snap.name
    try:
        if final.exists():
            raise RuntimeError(f"{final} exists already")
        tmp.mkdir()
        result = build(tmp, build_info(snap))
        os.rename(tmp, final)
        mf.freeze(final)
    except Exception as e:  # noqa: BLE001 — recorded, audited, and reported
        db.session.rollback()
        shutil.rmtree(tmp, ignore_errors=True)
        snap = db.session.get(Snapshot, snap.id)
        snap.status, snap.error = "failed", f"{type(e).__name__}: {e}"[:2000]
        audit("snapshot.failed", actor, object_type="snapshot", object_id=snap.name,
              reason=snap.error)
        db.session.commit()
        current_app.logger.exception("snapshot %s failed", snap.name)
        raise ServiceError(_l("The snapshot could not be written (%(error)s). The lock "
                              "stays in force: take the snapshot again."),
                           error=type(e).__name__) from e
    snap.status = "ready"
    snap.manifest_sha256 = hashlib.sha256(result.manifest_bytes).hexdigest()
    snap.file_count = len(result.files)
    snap.total_bytes = sum(f["size"] for f in result.files)
    audit("snapshot.create", actor, object_type="snapshot", object_id=snap.name,
          new={"kind": snap.kind, "version": snap.version,
               "manifest_sha256": snap.manifest_sha256, "files": snap.file_count,
               "records": result.manifest["records"],
               "item_values": result.manifest["item_values"],
               "sites": snap.site_codes})
    db.session.commit()
    return snap


def rebuild(snap: Snapshot, directory: Path) -> list[str]:
    """Generate the snapshot again into ``directory`` and compare with the stored files:
    the names of the files that differ (empty: byte-identical). Only while the data are
    still those of the snapshot: its lock is in force."""
    if snap.kind != "locked" or snap.lock is None or snap.lock.status != "active":
        raise ServiceError(_l("Only the snapshot of the lock in force can be generated "
                              "again: the data may have changed since."))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=False)
    build(directory, build_info(snap))
    stored = snapshot_dir(snap)
    names = sorted({p.name for p in directory.iterdir()} | {p.name for p in stored.iterdir()})
    differ = []
    for n in names:
        a, b = directory / n, stored / n
        if not a.exists() or not b.exists() or mf.sha256_file(a) != mf.sha256_file(b):
            differ.append(n)
    return differ


# ---------------------------------------------------------------- who sees what
def visible(user, snap: Snapshot) -> bool:
    if snap.kind == "locked":
        if snap.status != "ready":
            return can_lock(user)
        return access.can_anywhere(user, access.SNAPSHOT_VIEW)
    if snap.status != "ready" and snap.created_by != getattr(user, "id", None):
        return False
    wanted = set(db.session.scalars(select(Site.id).where(Site.code.in_(snap.site_codes))))
    return bool(wanted) and wanted <= set(access.sites_with(user, access.WORKING_EXPORT))


def can_see_exports(user) -> bool:
    return access.can_anywhere(user, access.SNAPSHOT_VIEW) or \
        access.can_anywhere(user, access.WORKING_EXPORT)


def list_snapshots(user) -> list[Snapshot]:
    if not can_see_exports(user):
        raise Forbidden(_l("You are not allowed to do this."))
    rows = db.session.scalars(select(Snapshot).order_by(Snapshot.id.desc()))
    return [s for s in rows if visible(user, s)]


def get_snapshot(user, name: str) -> Snapshot:
    snap = db.session.scalars(select(Snapshot).where(Snapshot.name == name)).first()
    if snap is None or not visible(user, snap):
        raise NotFound(_l("Snapshot not found."))
    return snap


def read_manifest(snap: Snapshot) -> dict:
    """The stored manifest, refused if it is not the one recorded at generation."""
    import json
    if snap.status != "ready":
        raise NotFound(_l("Snapshot not found."))
    blob = (snapshot_dir(snap) / mf.MANIFEST).read_bytes()
    if hashlib.sha256(blob).hexdigest() != snap.manifest_sha256:
        raise Conflict(_l("The files of this snapshot were changed on the server: they are "
                          "not served. Tell the data manager."))
    return json.loads(blob)


def _entry(snap: Snapshot, filename: str) -> dict:
    man = read_manifest(snap)
    if filename in (mf.MANIFEST, mf.SIGNATURE):
        path = snapshot_dir(snap) / filename
        return {"path": filename, "size": path.stat().st_size, "sha256": None}
    for e in man["files"]:
        if e["path"] == filename:
            return e
    raise NotFound(_l("File not found."))


def download_file(actor: Actor, snap: Snapshot, filename: str, *, via: str) -> Path:
    """The stored file (audited); refused if its size differs from the manifest."""
    entry = _entry(snap, filename)
    path = snapshot_dir(snap) / entry["path"]
    if not path.is_file() or path.stat().st_size != entry["size"]:
        raise Conflict(_l("The files of this snapshot were changed on the server: they are "
                          "not served. Tell the data manager."))
    audit("export.download", actor, object_type="snapshot", object_id=snap.name,
          item=filename[:64], new={"file": filename, "sha256": entry.get("sha256"),
                                   "size": entry["size"], "via": via,
                                   "locked": snap.kind == "locked"})
    db.session.commit()
    return path


def zip_name(snap: Snapshot) -> str:
    return f"{snap.name}.zip" if snap.kind == "locked" else f"NOT_LOCKED_{snap.name}.zip"


def download_zip(actor: Actor, snap: Snapshot, *, via: str) -> Iterator[bytes]:
    """Every file of the snapshot as one zip, streamed (audited). The same snapshot
    gives the same zip bytes: fixed order, times and attributes."""
    man = read_manifest(snap)
    names = [e["path"] for e in man["files"]] + [mf.MANIFEST, mf.SIGNATURE]
    directory = snapshot_dir(snap)
    for e in man["files"]:
        p = directory / e["path"]
        if not p.is_file() or p.stat().st_size != e["size"]:
            raise Conflict(_l("The files of this snapshot were changed on the server: they "
                              "are not served. Tell the data manager."))
    audit("export.download", actor, object_type="snapshot", object_id=snap.name,
          item="(zip)", new={"file": zip_name(snap), "manifest_sha256":
                             snap.manifest_sha256, "via": via,
                             "locked": snap.kind == "locked"})
    db.session.commit()
    return stream_zip(directory, names, snap.as_of)


class _Sink:
    """A write-only stream for zipfile that hands over what was written."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, b) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def stream_zip(directory: Path, names: list[str], as_of: datetime) -> Iterator[bytes]:
    when = as_of.astimezone(timezone.utc)
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute,
             when.second - when.second % 2)
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            path = directory / name
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100444 << 16
            info.file_size = path.stat().st_size
            with open(path, "rb") as src, zf.open(info, "w") as dst:
                while True:
                    chunk = src.read(mf.CHUNK)
                    if not chunk:
                        break
                    dst.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def public_key_pem() -> bytes:
    key = mf.load_private_key(current_app.config, current_app.instance_path)
    return mf.public_pem(key.public_key())


def lock_history() -> list[DatabaseLock]:
    return list(db.session.scalars(select(DatabaseLock).order_by(DatabaseLock.id.desc())))


def as_utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)

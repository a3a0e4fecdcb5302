"""Database locks and snapshots (locked datasets and working exports)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crf.models import JSONType
from ..db import Base, UTCDateTime, utcnow

LOCK_KINDS = ("full", "interim")


class DatabaseLock(Base):
    """A database lock: the whole trial, or an interim cut with a name and cut-off date.

    While a lock is ``active`` every eCRF write is refused. ``active_key`` is 1 for the
    active lock and NULL otherwise: its unique constraint allows one active lock only.
    Unlocking keeps the row (status ``released``) with the reason.
    """

    __tablename__ = "database_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)          # full | interim
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    cutoff: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="active")
    active_key: Mapped[int | None] = mapped_column(Integer, unique=True)
    #: reason given to lock although blockers remained (interim cuts only)
    override_reason: Mapped[str | None] = mapped_column(Text)
    #: what blocked the lock when it was taken: {category: count}
    blockers: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    locked_by_name: Mapped[str | None] = mapped_column(String(200))
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlocked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    unlocked_by_name: Mapped[str | None] = mapped_column(String(200))
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    snapshots = relationship("Snapshot", back_populates="lock", order_by="Snapshot.id")


def in_force():
    """The condition that selects the database lock in force (its ``active_key`` is 1):
    the one definition for exports, the write check and the status icons."""
    return DatabaseLock.active_key == 1


class Snapshot(Base):
    """A generated dataset on disk: a locked snapshot (versioned) or a working export.

    Its files are written once into ``SNAPSHOT_DIR/<name>/`` and never rewritten; the
    manifest (listing every file's size and SHA-256) is signed with the instance key.
    """

    __tablename__ = "snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)        # locked | working
    version: Mapped[int | None] = mapped_column(Integer, unique=True)   # locked only
    lock_id: Mapped[int | None] = mapped_column(ForeignKey("database_lock.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="building")
    #: the data's moment: the lock time, or the time a working export was taken
    as_of: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    cutoff: Mapped[date | None] = mapped_column(Date)
    site_codes: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    options: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_name: Mapped[str | None] = mapped_column(String(200))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    file_count: Mapped[int | None] = mapped_column(Integer)
    total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)

    lock = relationship("DatabaseLock", back_populates="snapshots", lazy="joined")

    @property
    def locked(self) -> bool:
        return self.kind == "locked"

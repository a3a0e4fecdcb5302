from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow


class User(UserMixin, Base):
    """A person who logs in. Users are never deleted (``active`` false), ids never reused."""

    __tablename__ = "user_account"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped on logout, password change and disable: every session of the user ends.
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: Set by an administrator's password reset: until the user chose a new password,
    #: the change-password page is the only page they can reach.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                       server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: TOTP secret, AES-GCM encrypted (edc.auth.mfa); set from the start of enrolment.
    mfa_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: When enrolment was confirmed with a first code; None: no MFA (or enrolment pending).
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last accepted TOTP time step: a code is accepted once only (no replay).
    mfa_last_step: Mapped[int | None] = mapped_column(Integer)

    memberships = relationship("Membership", back_populates="user", lazy="selectin",
                               primaryjoin="and_(User.id == Membership.user_id, "
                                           "Membership.active == True)", viewonly=True)

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot log in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class MfaRecoveryCode(Base):
    """A one-time recovery code (ten per enrolment), stored only as an argon2 hash.

    ``lookup`` is the code's first group (not secret) so only one hash is checked.
    Codes are never deleted: a used code gets ``used_at``; codes replaced by new ones
    or by an MFA reset get ``revoked_at``.
    """

    __tablename__ = "mfa_recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False,
                                         index=True)
    lookup: Mapped[str] = mapped_column(String(8), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLimitHit(Base):
    """One failed attempt counted by edc.auth.ratelimit (a sliding window per key).

    The key (an IP address or an email) is stored as a SHA-256 hash only. Rows older
    than the window are purged as new ones arrive: this is throttling state, not a
    record (the audit trail holds the attempts).
    """

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_kind_key_at", "kind", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

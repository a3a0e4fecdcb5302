"""Electronic signatures (21 CFR 11.50/11.70/11.200) and locks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crf.models import JSONType
from ..db import Base, UTCDateTime, utcnow

SIGNATURE_SCOPES = ("visit", "casebook")
LOCK_SCOPES = ("form", "patient", "site")


class Signature(Base):
    """An investigator's signature of a visit or of a whole casebook.

    The signature holds what 21 CFR 11.50 asks for: the printed name of the signer, the
    date and time (UTC), and the meaning; and it is linked to the signed data (11.70) by
    the SHA-256 hash of their canonical serialisation and the ids of the signed records.
    A later change to signed data invalidates it (``invalidated_at``…); the row stays.
    """

    __tablename__ = "e_signature"
    __table_args__ = (Index("ix_e_signature_patient_status", "patient_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), nullable=False)
    scope: Mapped[str] = mapped_column(String(8), nullable=False)      # visit | casebook
    visit_code: Mapped[str | None] = mapped_column(String(16))         # None: casebook
    signer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: the printed name of the signer at the time of signing
    signer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    signer_role: Mapped[str] = mapped_column(String(32), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: the meaning, as an English msgid (shown translated), and as the signer read it
    meaning: Mapped[str] = mapped_column(Text, nullable=False)
    meaning_text: Mapped[str] = mapped_column(Text, nullable=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    record_ids: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    data_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="valid")
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    invalidated_by_name: Mapped[str | None] = mapped_column(String(200))
    invalidated_record_id: Mapped[int | None] = mapped_column(ForeignKey("form_record.id"))
    invalidated_items: Mapped[list | None] = mapped_column(JSONType)

    site = relationship("Site", lazy="joined")


class DataLock(Base):
    """A freeze of one form record, or a lock of a patient or of a whole site.

    Active while ``unlocked_at`` is empty. Unlocking keeps the row, with who, when, why.
    """

    __tablename__ = "data_lock"
    __table_args__ = (Index("ix_data_lock_site_active", "site_id", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), nullable=False)      # form|patient|site
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("form_record.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    locked_by_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlocked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    unlocked_by_name: Mapped[str | None] = mapped_column(String(200))
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    patient = relationship("Patient")
    record = relationship("FormRecord")

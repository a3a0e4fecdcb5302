from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, Date, ForeignKey, Integer, LargeBinary, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow

STATUSES = ("screening", "enrolled", "screen_failed", "completed", "withdrawn", "died")


class Patient(Base):
    """A pseudonymised patient. Nothing here identifies the person."""

    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("site_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="screening")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    registered_on: Mapped[date] = mapped_column(Date, nullable=False)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    site = relationship("Site", lazy="joined")
    identifiers = relationship("PatientIdentifiers", uselist=False, back_populates="patient")


class PatientIdentifiers(Base):
    """Direct identifiers, encrypted with the site's data key (AES-GCM).

    ``mrn_hmac`` is a keyed HMAC of the normalised hospital record number: it catches a
    second registration of the same person at the site without storing the number.
    """

    __tablename__ = "patient_identifiers"
    __table_args__ = (UniqueConstraint("site_id", "mrn_hmac"),)

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    nonce: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    mrn_hmac: Mapped[str | None] = mapped_column(String(64))

    patient = relationship("Patient", back_populates="identifiers")

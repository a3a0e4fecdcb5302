from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


class FormVersion(Base):
    """Each form version that records were entered with, with its exact definition."""

    __tablename__ = "form_version"
    __table_args__ = (UniqueConstraint("oid", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oid: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False,
                                                    default=utcnow)


class FormRecord(Base):
    """One form instance: a patient's form at a visit (several for a repeating form)."""

    __tablename__ = "form_record"
    __table_args__ = (
        UniqueConstraint("patient_id", "visit_code", "form_oid", "seq"),
        Index("ix_form_record_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), nullable=False,
                                            index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    visit_code: Mapped[str] = mapped_column(String(16), nullable=False)
    form_oid: Mapped[str] = mapped_column(String(16), nullable=False)
    form_version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="in_progress")
    values: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    missing: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    completed_once: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_by_name: Mapped[str | None] = mapped_column(String(200))

    patient = relationship("Patient", lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}

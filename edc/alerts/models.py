"""Safety alerts, their in-app inbox, and the outgoing mail queue."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crf.models import JSONType
from ..db import Base, UTCDateTime, utcnow

ALERT_KINDS = ("sae", "crs", "icans", "death", "coi_refusal")
MAIL_STATES = ("pending", "sent", "failed")


class SafetyAlert(Base):
    """A safety event that was saved (or refused, for chain of identity)."""

    __tablename__ = "safety_alert"
    __table_args__ = (Index("ix_safety_alert_site_created", "site_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), nullable=False,
                                            index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("form_record.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    #: e.g. {"grade": 3}, {"term": "…"}, {"form": "EX", "visit": "D0"}
    details: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    #: serious adverse events: the date the site became aware (starts the 24-hour clock)
    aware_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_name: Mapped[str | None] = mapped_column(String(200))

    patient = relationship("Patient", lazy="joined")
    site = relationship("Site", lazy="joined")


class AlertReceipt(Base):
    """One recipient's copy of an alert in the in-app inbox."""

    __tablename__ = "alert_receipt"
    __table_args__ = (UniqueConstraint("alert_id", "user_id"),
                      Index("ix_alert_receipt_user_read", "user_id", "read_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("safety_alert.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    alert = relationship("SafetyAlert", lazy="joined")


class OutboxMail(Base):
    """An email waiting to be sent (``flask --app edc mail send``). Never deleted."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    to_addr: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("safety_alert.id"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False,
                                                      default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crf.models import JSONType
from ..db import Base, UTCDateTime, utcnow

QUERY_STATES = ("open", "answered", "closed", "cancelled")


class Query(Base):
    """A data query on one item of one record (automatic from a check, or manual)."""

    __tablename__ = "data_query"
    __table_args__ = (Index("ix_data_query_site_status", "site_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("form_record.id"), nullable=False,
                                           index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), nullable=False,
                                            index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    item: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)      # auto | manual
    check: Mapped[str | None] = mapped_column(String(64))             # check name
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    #: for automatic queries the English msgid (translated when shown) and its params
    message: Mapped[str] = mapped_column(Text, nullable=False)
    params: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    data_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    messages = relationship("QueryMessage", order_by="QueryMessage.id", lazy="selectin")
    record = relationship("FormRecord", lazy="joined")


class QueryMessage(Base):
    """The thread of a query, in order: who, in which role, when, what."""

    __tablename__ = "data_query_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("data_query.id"), nullable=False,
                                          index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    user_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    params: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)


class SdvMark(Base):
    """Source data verification of one item of one record.

    Verifying a whole form writes one mark per entered item (``whole_form`` true). A later
    change to the item clears the mark (``cleared_at``…): the row stays, visibly, and the
    item needs verifying again. A record is verified when every entered item has an
    active mark.
    """

    __tablename__ = "sdv_mark"
    __table_args__ = (Index("ix_sdv_mark_record_active", "record_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("form_record.id"), nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), nullable=False,
                                            index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    item: Mapped[str] = mapped_column(String(64), nullable=False)
    whole_form: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_by_name: Mapped[str | None] = mapped_column(String(200))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_by_name: Mapped[str | None] = mapped_column(String(200))

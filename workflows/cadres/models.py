"""Cadre records and promotion bans (§6)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base, UTCDateTime


class Cadre(Base):
    """A cadre, managed by one org unit (干部管理权限)."""

    __tablename__ = "cadre"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    post: Mapped[str] = mapped_column(String(200))
    org_unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromotionBan(Base):
    """No promotion from `starts_on` until `ends_on` (exclusive) because of a decision.

    Never deleted: an appeal outcome sets `status` to revoked/changed and points at
    the appeal case; a changed ban is followed by a new row."""

    __tablename__ = "promotion_ban"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"))
    adjustment: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active, revoked, changed
    changed_by_case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    note: Mapped[str] = mapped_column(Text, default="")

"""Cases and the records the five processes keep (DOMAIN.md §2, §5).

Records are never silently changed: a correction is a new row pointing at the row it
corrects (decisions, blacklist entries), or a status change that names the case
that caused it (promotion bans)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base, UTCDateTime


class CaseFile(Base):
    """One case of one process kind, numbered per kind and year (e.g. WZ-2026-000123)."""

    __tablename__ = "case_file"
    __table_args__ = (
        UniqueConstraint("kind", "year", "seq"),
        Index("ix_case_file_unit_opened", "org_unit_code", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)  # process key
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), unique=True)
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    subject_name: Mapped[str] = mapped_column(String(200))  # the cadre, or an accuser
    org_unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    title: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(30), index=True)  # open, decided, final, closed
    outcome: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(50))
    received_on: Mapped[date | None] = mapped_column(Date)  # decision received (送达)
    # 立案日期: the policy date the case counts from (an accountability case's is fixed at
    # 立案 and may precede its entry); the moment the row was entered is `opened_at`.
    registered_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseLink(Base):
    """A directed link between two cases, shown on both."""

    __tablename__ = "case_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    to_case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseActor(Base):
    """Who handled or decided a case: the basis of recusal (回避) for its appeal."""

    __tablename__ = "case_actor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[str] = mapped_column(String(20))  # handled, decided
    element: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Decision(Base):
    """A decision with its reasons: accountability, tolerance determination, appeal outcome."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # accountability, tolerance, appeal
    outcome: Mapped[str] = mapped_column(String(50))
    adjustment: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(String(50))
    departure_reason: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(100))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    effective: Mapped[str] = mapped_column(
        String(20), default="effective"
    )  # effective, modified, revoked
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SixElementAnalysis(Base):
    """六个要件综合分析: each element's pole and reason, the three distinctions, the recommendation."""

    __tablename__ = "six_element_analysis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    elements: Mapped[str] = mapped_column(Text)  # JSON {key: {pole, reason}}
    distinctions: Mapped[str] = mapped_column(Text)  # JSON
    recommendation: Mapped[str] = mapped_column(String(30))
    analysed_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Appeal(Base):
    """申诉: against a decision of another case, filed within the window from receipt."""

    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), unique=True)  # the appeal case
    original_case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"))
    filed_on: Mapped[date] = mapped_column(Date)
    window_ends_on: Mapped[date] = mapped_column(Date)
    grounds: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(20))  # uphold, modify, revoke


class RectificationRequirement(Base):
    """责令限期整改: what must be corrected, by when, issued by whom."""

    __tablename__ = "rectification_requirement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    requirements: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date] = mapped_column(Date)


class VerificationRound(Base):
    """验收: one verification of a rectification; accepted, ineffective or refused."""

    __tablename__ = "verification_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    verified_by: Mapped[str] = mapped_column(String(100))
    verified_on: Mapped[date] = mapped_column(Date)


class Clarification(Base):
    """澄清正名: the form and scope chosen, and when it was done."""

    __tablename__ = "clarification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    form: Mapped[str] = mapped_column(String(50))
    scope: Mapped[str] = mapped_column(String(50))
    done_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))


class BlacklistEntry(Base):
    """失信"黑名单": never deleted; a removal (移出) is a new entry pointing at the one it
    removes, a correction (更正) a new listing pointing at the one it supersedes."""

    __tablename__ = "blacklist_entry"
    __table_args__ = (
        Index("ux_blacklist_entry_removes", "removes_entry_id", unique=True),
        Index("ux_blacklist_entry_corrects", "corrects_entry_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_name: Mapped[str] = mapped_column(String(200))
    basis_case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    entered_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(
        Text
    )  # why the person is listed (or, for a removal, removed)
    removes_entry_id: Mapped[int | None] = mapped_column(ForeignKey("blacklist_entry.id"))
    corrects_entry_id: Mapped[int | None] = mapped_column(ForeignKey("blacklist_entry.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)  # 更正理由, with corrects_entry_id
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseCounter(Base):
    """The last sequence number given per process kind and year."""

    __tablename__ = "case_counter"

    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)

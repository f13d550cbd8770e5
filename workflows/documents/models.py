"""The documents of a case and their withdrawals. Both tables are append-only (the database
refuses UPDATE and DELETE): a document is never changed, and withdrawing one (撤回) adds a
row that says who withdrew it, when and why, so the record stays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base, UTCDateTime


class CaseDocument(Base):
    """A file attached to a case, with the task (step) it was added on, if any."""

    __tablename__ = "case_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: lists and pages read the metadata; only a download loads the bytes.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentWithdrawal(Base):
    """撤回: a document no longer counts as material of its case; who, when and why."""

    __tablename__ = "case_document_withdrawal"

    document_id: Mapped[int] = mapped_column(ForeignKey("case_document.id"), primary_key=True)
    withdrawn_by: Mapped[str] = mapped_column(String(100))
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)

"""Official documents (公文, DOMAIN.md §7): template versions, the documents generated from
them, the 文号 counters and the service (送达) of a document.

The files themselves are 案件材料 (`case_document`, append-only): an official document row
points at its DOCX and, once converted, its PDF. A generated document is never changed:
regenerating adds a new version with the same 文号; a 退回 of the step that generated it
supersedes the row (`record_supersession`), like every record that step wrote.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base, UTCDateTime


class OfficialTemplate(Base):
    """An uploaded version of the DOCX template of one kind of document; the template shipped
    in `workflows/official/templates/` counts as version 1 of every kind."""

    __tablename__ = "official_template"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialNumberCounter(Base):
    """The last 文号 sequence given per org unit, 机关代字 (prefix) and year."""

    __tablename__ = "official_number_counter"

    org_unit_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)


class OfficialDocument(Base):
    """One version of one generated document of a case: its 文号, the template it was rendered
    from, the context it was rendered with (JSON, so a new version renders the same facts) and
    its files. `pdf_document_id` and `pdf_error` are set once, by the conversion."""

    __tablename__ = "official_document"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "issue", "version"),
        # A 文号 is given once: its versions share it, no other document has it.
        UniqueConstraint("org_unit_code", "prefix", "year", "seq", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    #: Which issue of this kind on this case: a decision taken again after a 退回 is a new
    #: issue with a new 文号; regenerating an issue adds a version.
    issue: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(80))  # 文号 (送达回证: none)
    org_unit_code: Mapped[str] = mapped_column(String(50))
    prefix: Mapped[str | None] = mapped_column(String(40))
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    template_sha256: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(Text)
    docx_document_id: Mapped[int] = mapped_column(ForeignKey("case_document.id"))
    pdf_document_id: Mapped[int | None] = mapped_column(ForeignKey("case_document.id"))
    pdf_error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    generated_by: Mapped[str] = mapped_column(String(100))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialService(Base):
    """送达: the day and manner a document was served on the cadre, recorded by the 送达 step."""

    __tablename__ = "official_service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_document_id: Mapped[int] = mapped_column(
        ForeignKey("official_document.id"), index=True
    )
    served_on: Mapped[date] = mapped_column(Date)
    manner: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialReceipt(Base):
    """The signed 送达回证 returned for a served document: an uploaded 案件材料 linked to it."""

    __tablename__ = "official_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_document_id: Mapped[int] = mapped_column(
        ForeignKey("official_document.id"), index=True
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("case_document.id"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

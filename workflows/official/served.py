"""Which official documents a cadre may read (DOMAIN.md §6: only what was served on them).

A served kind (问责决定书, 容错免责认定意见书, 申诉复核决定书) reaches the cadre with its service
(送达, an `official_service` row): exactly the version that was served. A 责令整改通知书 or
澄清正名函 is addressed to the cadre when issued: its latest version in force. A 送达回证 is
the organ's form and no draft, superseded or unserved document ever reaches the cadre.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from workflows.engine.models import RecordSupersession
from workflows.official import kinds
from workflows.official.models import OfficialDocument, OfficialService

_ADDRESSED = [key for key, kind in kinds.KINDS.items() if kind.code and not kind.served]


def issue_in_force() -> ColumnElement[bool]:
    """A WHERE clause over OfficialDocument: the documents whose issue no going back voided. A
    退回 supersedes the version its step issued; the versions regenerated from it go with it."""
    voided = aliased(OfficialDocument)
    return ~exists().where(
        voided.case_id == OfficialDocument.case_id,
        voided.kind == OfficialDocument.kind,
        voided.issue == OfficialDocument.issue,
        voided.id.in_(
            select(RecordSupersession.record_id).where(
                RecordSupersession.record_table == OfficialDocument.__tablename__
            )
        ),
    )


def to_cadre() -> ColumnElement[bool]:
    """A WHERE clause over OfficialDocument: the documents their cadre may read."""
    later = aliased(OfficialDocument)
    served = exists().where(OfficialService.official_document_id == OfficialDocument.id)
    latest = ~exists().where(
        later.case_id == OfficialDocument.case_id,
        later.kind == OfficialDocument.kind,
        later.issue == OfficialDocument.issue,
        later.version > OfficialDocument.version,
    )
    addressed = and_(OfficialDocument.kind.in_(_ADDRESSED), latest)
    return and_(issue_in_force(), or_(served, addressed))


def hidden_files(session: Session, case_id: int) -> set[int]:
    """The 案件材料 ids of the case's generated files its cadre may not read."""
    files: set[int] = set()
    for docx, pdf in session.execute(
        select(OfficialDocument.docx_document_id, OfficialDocument.pdf_document_id).where(
            OfficialDocument.case_id == case_id, ~to_cadre()
        )
    ):
        files.add(docx)
        if pdf is not None:
            files.add(pdf)
    return files

"""The PDF beside each generated DOCX, made outside any write transaction.

`convert_pending` reads the documents still without a PDF (and without a recorded failure),
converts each with LibreOffice (seconds, with no database lock held) and stores the result
in a short write transaction of its own: the PDF as 案件材料, or the failure on the document
row — a visible status (PDF 生成失败) and an audit row, never a lost decision: the DOCX is
already kept. The scheduler runs it as a periodic job; a preview or a generation on demand
runs it for its case at once. A failed conversion (LibreOffice missing then, or timed out
under load) is tried again on request (`retry`, 重新转换 PDF): the failure is cleared,
audited with the error it had, and the conversion runs again.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.documents.models import CaseDocument
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.errors import Conflict, DomainError, Forbidden
from workflows.messages import t
from workflows.official import conversion, kinds, served, service
from workflows.official.models import OfficialDocument

log = logging.getLogger(__name__)
RUN_LIMIT = 10
#: The scheduler's floor between runs (seconds).
INTERVAL_FLOOR = 5.0
ACTOR = "system:official-documents"


def _pending(db: Database, case_id: int | None, limit: int) -> list[tuple[int, int]]:
    with db.reading() as session:
        query = (
            select(OfficialDocument.id, OfficialDocument.docx_document_id)
            .where(
                OfficialDocument.pdf_document_id.is_(None),
                OfficialDocument.pdf_error.is_(None),
                served.issue_in_force(),
            )
            .order_by(OfficialDocument.id)
            .limit(limit)
        )
        if case_id is not None:
            query = query.where(OfficialDocument.case_id == case_id)
        return [(row.id, row.docx_document_id) for row in session.execute(query)]


def convert_pending(
    db: Database, *, clock: Clock, case_id: int | None = None, limit: int = RUN_LIMIT
) -> int:
    """Converts up to `limit` documents still without a PDF (of one case if named); returns how
    many it stored a PDF for."""
    if not conversion.available() and case_id is None:
        return 0  # the scheduler waits for the converter to be installed
    stored = 0
    for official_id, docx_id in _pending(db, case_id, limit):
        with db.reading() as session:
            docx = session.execute(
                select(CaseDocument.content).where(CaseDocument.id == docx_id)
            ).scalar_one()
        try:
            pdf, error = conversion.to_pdf(docx), None
        except conversion.ConversionFailed as err:
            pdf, error = None, str(err)
            log.warning("official document %s: %s", official_id, err)
        if _store(db, official_id, pdf, error, clock):
            stored += pdf is not None
    return stored


def _store(
    db: Database, official_id: int, pdf: bytes | None, error: str | None, clock: Clock
) -> bool:
    """Keeps the PDF (or the failure) unless another run kept one meanwhile."""
    with db.transaction() as session:
        row = session.execute(
            select(OfficialDocument).where(OfficialDocument.id == official_id).with_for_update()
        ).scalar_one()
        if row.pdf_document_id is not None or row.pdf_error is not None:
            return False
        now = clock.now()
        detail = {"case_id": row.case_id, "number": row.number, "version": row.version}
        if pdf is None:
            row.pdf_error = error
            audit.record(
                session,
                at=now,
                actor=ACTOR,
                action="official_document.pdf_failed",
                object_type="official_document",
                object_id=row.id,
                detail={**detail, "error": error},
            )
            return True
        docx = session.get(CaseDocument, row.docx_document_id)
        assert docx is not None
        file = CaseDocument(
            case_id=row.case_id,
            task_id=row.task_id,
            filename=docx.filename.removesuffix(".docx") + ".pdf",
            content_type="application/pdf",
            size=len(pdf),
            sha256=hashlib.sha256(pdf).hexdigest(),
            content=pdf,
            title=kinds.KINDS[row.kind].title,
            description=f"{docx.description or ''}（PDF）",
            uploaded_by=row.generated_by,
            uploaded_at=now,
        )
        session.add(file)
        session.flush()
        row.pdf_document_id = file.id
        audit.record(
            session,
            at=now,
            actor=ACTOR,
            action="official_document.pdf",
            object_type="official_document",
            object_id=row.id,
            detail={**detail, "document_id": file.id, "sha256": file.sha256},
        )
        return True


def retry_refusal(
    principal: Principal, case: CaseFile, row: OfficialDocument, *, in_force: bool
) -> DomainError | None:
    """Why the principal may not have the document's PDF made again (None when they may):
    the rule of `retry` and of the button beside a failed PDF."""
    if not service.may_issue(principal, case):
        return Forbidden(
            t(
                "只有案件管辖单位 %(org_unit_code)s 的纪检监察机关、组织部门和党委（党组）"
                "可以重新转换公文的 PDF：%(username)s 不能",
                org_unit_code=case.org_unit_code,
                username=principal.username,
            )
        )
    if row.pdf_document_id is not None:
        return Conflict(t("公文 %(official_id)s 已有 PDF，无需重新转换", official_id=row.id))
    if not row.pdf_error:
        return Conflict(t("公文 %(official_id)s 的 PDF 正在生成，请稍候", official_id=row.id))
    if not in_force:
        return Conflict(
            t("公文 %(official_id)s 已作废（作出它的环节已被退回或撤回）", official_id=row.id)
        )
    if not conversion.available():
        return Conflict(t("本机未安装 LibreOffice：无法生成 PDF（请管理员安装后再试）"))
    return None


def retry(session: Session, *, principal: Principal, official_id: int, clock: Clock) -> int:
    """重新转换 PDF: the failure of a document's PDF is cleared (audited with the error it had)
    so that the conversion runs again — the caller runs it for the case once this commits.
    NotFound for a document out of sight, else the refusal of `retry_refusal`. Returns the
    case's id."""
    found = service.get(session, principal=principal, official_id=official_id)
    row = session.execute(
        select(OfficialDocument).where(OfficialDocument.id == found.id).with_for_update()
    ).scalar_one()
    case = session.get(CaseFile, row.case_id)
    assert case is not None
    in_force = session.execute(
        select(OfficialDocument.id).where(OfficialDocument.id == row.id, served.issue_in_force())
    ).first()
    refused = retry_refusal(principal, case, row, in_force=in_force is not None)
    if refused is not None:
        raise refused
    previous, row.pdf_error = row.pdf_error, None
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action="official_document.pdf_retry",
        object_type="official_document",
        object_id=row.id,
        detail={
            "case_id": row.case_id,
            "number": row.number,
            "version": row.version,
            "error": previous,  # the failure it had
        },
    )
    session.flush()
    return row.case_id

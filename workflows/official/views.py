"""Reads of official documents: a case's documents as the asker may see them, with the
actions they may take, and the templates as their managers see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases import served as case_served
from workflows.cases.models import CaseFile
from workflows.documents import service as documents
from workflows.official import kinds, pdf, served, service, templates
from workflows.official.models import OfficialDocument, OfficialReceipt, OfficialService
from workflows.org import people


@dataclass(frozen=True)
class ServiceView:
    """送达: when and how, and who recorded it."""

    served_on: date
    manner: str | None
    manner_name: str | None
    note: str | None


@dataclass(frozen=True)
class OfficialView:
    """One version of a generated document, its files and its standing."""

    id: int
    case_id: int
    kind: str
    title: str
    issue: int
    version: int
    number: str | None
    template_version: int
    generated_at: datetime
    generated_by_name: str
    docx_document_id: int
    pdf_document_id: int | None
    pdf_status: str  # ready, pending, failed
    pdf_error: str | None
    superseded: bool  # undone by a 退回/撤回 of the step that issued it
    current: bool  # the latest version of its issue, in force
    services: tuple[ServiceView, ...]
    receipt_document_ids: tuple[int, ...]
    may_attach_receipt: bool
    may_retry_pdf: bool  # the PDF failed and the principal may have it made again


@dataclass(frozen=True)
class CaseOfficialView:
    items: tuple[OfficialView, ...]
    kinds: tuple[str, ...]  # the kinds the asker may (re)generate on this case
    may_generate: bool


def _pdf_status(row: OfficialDocument) -> str:
    if row.pdf_document_id is not None:
        return "ready"
    return "failed" if row.pdf_error else "pending"


def of_case(session: Session, *, principal: Principal, case_id: int) -> CaseOfficialView:
    """The case's documents the principal reads (NotFound for a case out of sight), newest
    first; a cadre gets only those served on them."""
    case = access.get_case_to_read(session, principal, case_id)
    query = select(OfficialDocument).where(OfficialDocument.case_id == case.id)
    cadre = principal.role == "cadre"
    if cadre:
        query = query.where(served.to_cadre())
    rows = list(
        session.execute(
            query.order_by(
                OfficialDocument.kind,
                OfficialDocument.issue.desc(),
                OfficialDocument.version.desc(),
            )
        ).scalars()
    )
    ids = [row.id for row in rows]
    superseded = set(ids) - set(
        session.execute(
            select(OfficialDocument.id).where(OfficialDocument.id.in_(ids), served.issue_in_force())
        ).scalars()
    )
    services: dict[int, list[ServiceView]] = {}
    for found in session.execute(
        select(OfficialService).where(OfficialService.official_document_id.in_(ids))
    ).scalars():
        services.setdefault(found.official_document_id, []).append(
            ServiceView(
                served_on=found.served_on,
                manner=found.manner,
                manner_name=kinds.MANNERS.get(found.manner or ""),
                note=None if cadre else found.note,
            )
        )
    receipts: dict[int, list[int]] = {}
    if not cadre:
        for official_id, document_id in session.execute(
            select(OfficialReceipt.official_document_id, OfficialReceipt.document_id).where(
                OfficialReceipt.official_document_id.in_(ids)
            )
        ):
            receipts.setdefault(official_id, []).append(document_id)
    names = (
        served_names(session, rows, case.org_unit_code)
        if cadre
        else people.labels(session, [row.generated_by for row in rows])
    )
    may_receipt = not cadre and documents.may_add(session, principal, case)
    may_issue = service.may_issue(principal, case)
    newest: set[tuple[str, int]] = set()
    items = []
    for row in rows:
        key = (row.kind, row.issue)
        current = key not in newest and row.id not in superseded
        newest.add(key)
        items.append(
            OfficialView(
                id=row.id,
                case_id=row.case_id,
                kind=row.kind,
                title=kinds.KINDS[row.kind].title,
                issue=row.issue,
                version=row.version,
                number=row.number,
                template_version=row.template_version,
                generated_at=row.generated_at,
                generated_by_name=names.get(row.generated_by, row.generated_by),
                docx_document_id=row.docx_document_id,
                pdf_document_id=row.pdf_document_id,
                pdf_status=_pdf_status(row),
                pdf_error=None if cadre else row.pdf_error,
                superseded=row.id in superseded,
                current=current,
                services=tuple(services.get(row.id, ())),
                receipt_document_ids=tuple(receipts.get(row.id, ())),
                may_attach_receipt=may_receipt
                and current
                and (kinds.KINDS[row.kind].served or row.kind == kinds.RECEIPT),
                may_retry_pdf=bool(row.pdf_error)
                and pdf.retry_refusal(principal, case, row, in_force=row.id not in superseded)
                is None,
            )
        )
    may_generate = may_issue
    own = kinds.BY_CASE_KIND.get(case.kind)
    generatable = (
        (own.key, *((kinds.RECEIPT,) if own.served else ())) if own and may_generate else ()
    )
    return CaseOfficialView(tuple(items), generatable, may_generate and bool(generatable))


def served_names(
    session: Session, rows: list[OfficialDocument], fallback_unit: str
) -> dict[str, str]:
    """A cadre reads the organ that issued a document, never a person's name."""
    return case_served.organ_names(
        session, [row.generated_by for row in rows], fallback_unit=fallback_unit
    )


def one(session: Session, *, principal: Principal, official_id: int) -> OfficialView:
    """One document as `of_case` shows it (NotFound when the principal may not read it)."""
    found = service.get(session, principal=principal, official_id=official_id)
    for item in of_case(session, principal=principal, case_id=found.case_id).items:
        if item.id == found.id:
            return item
    raise AssertionError("a readable document is listed with its case")


@dataclass(frozen=True)
class TemplateView:
    kind: str
    title: str
    current: templates.Version
    versions: tuple[templates.Version, ...]


def template_list(session: Session, *, principal: Principal) -> list[TemplateView]:
    """Every kind's template with its versions, for administrators and designers."""
    templates.check_manager(principal)
    return [
        TemplateView(
            kind=key,
            title=kind.title,
            current=(found := templates.versions(session, key))[0],
            versions=tuple(found),
        )
        for key, kind in kinds.KINDS.items()
    ]


@dataclass(frozen=True)
class ServedDocument:
    case_id: int
    case_number: str
    document: OfficialView


def served_to_me(session: Session, *, principal: Principal) -> list[ServedDocument]:
    """The documents served on a cadre user across their own cases, newest first (none for
    anyone else: officials read documents on the case pages)."""
    if principal.role != "cadre" or principal.cadre_id is None:
        return []
    own = session.execute(
        select(CaseFile.id, CaseFile.number)
        .where(CaseFile.cadre_id == principal.cadre_id, access.case_scope(principal))
        .order_by(CaseFile.id)
    ).all()
    found = [
        ServedDocument(case_id, number, item)
        for case_id, number in own
        for item in of_case(session, principal=principal, case_id=case_id).items
    ]
    return sorted(found, key=lambda s: s.document.generated_at, reverse=True)

"""文件引用: a form field naming one of its case's documents (案件材料) by id — an integer
field whose UI schema asks for `ui:widget: document` (the form designer's 文件引用). The
task page offers the case's documents; completing the task checks the id is one of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.documents.models import CaseDocument, DocumentWithdrawal
from workflows.errors import ValidationFailed
from workflows.messages import t

WIDGET = "document"


def fields_of(ui: Mapping[str, Any] | None) -> list[str]:
    """The top-level fields of a form that reference a document."""
    return [
        key
        for key, member in (ui or {}).items()
        if isinstance(member, Mapping) and member.get("ui:widget") == WIDGET
    ]


def check(
    session: Session, *, case_id: int | None, ui: Mapping[str, Any] | None, data: Mapping[str, Any]
) -> None:
    """ValidationFailed naming each document field whose value is not a document of the case
    still counted as its material (not withdrawn); empty fields are the form's business."""
    errors = []
    for key in fields_of(ui):
        value = data.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not _of_case(session, case_id, value)
        ):
            errors.append({"field": key, "message": t("应为本案件的材料（未撤回的案件材料）")})
    if errors:
        raise ValidationFailed(t("文件引用不是本案件的材料"), errors)


def _of_case(session: Session, case_id: int | None, document_id: int) -> bool:
    if case_id is None:
        return False
    found = session.execute(
        select(CaseDocument.id)
        .outerjoin(DocumentWithdrawal, DocumentWithdrawal.document_id == CaseDocument.id)
        .where(
            CaseDocument.id == document_id,
            CaseDocument.case_id == case_id,
            DocumentWithdrawal.document_id.is_(None),
        )
    ).first()
    return found is not None

"""文件引用: a form field naming one of its case's documents (案件材料) by id — an integer
field whose UI schema asks for `ui:widget: document` (the form designer's 文件引用). The
task page offers the case's documents; completing the task checks the id is one of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.documents.models import CaseDocument, DocumentWithdrawal
from workflows.engine import versions
from workflows.engine.models import HumanTask, Instance, ProcessVersion
from workflows.errors import ValidationFailed

WIDGET = "document"


def fields_of(ui: Mapping[str, Any] | None) -> list[str]:
    """The top-level fields of a form that reference a document."""
    return [
        key
        for key, member in (ui or {}).items()
        if isinstance(member, Mapping) and member.get("ui:widget") == WIDGET
    ]


def task_ui_schema(session: Session, task_id: int) -> Mapping[str, Any] | None:
    """The UI schema the task's version pinned for its form, if it has one."""
    row = session.execute(
        select(HumanTask.task_spec, ProcessVersion.id, ProcessVersion.content_hash)
        .join(Instance, Instance.id == HumanTask.instance_id)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
        .where(HumanTask.id == task_id)
    ).one_or_none()
    if row is None:
        return None
    loaded = versions.load(session, row.id, row.content_hash)
    name = loaded.properties(row.task_spec).get("formUiSchemaFilename")
    found = loaded.forms.get(name) if name else None
    return found if isinstance(found, Mapping) else None


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
            errors.append({"field": key, "message": "应为本案件的材料（未撤回的案件材料）"})
    if errors:
        raise ValidationFailed("文件引用不是本案件的材料", errors)


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

"""案件材料 on the pages: the documents card of the task page and the case page (list, download,
upload, withdraw), and the routes its forms post to.

The rules are the domain's (workflows/documents/service.py). A form posts here and comes back
to the page it was on — the task page when its action names `task_id`, else the case page —
with a message (post/redirect/get); a refused form renders that page again (422) with the
message beside its field: the page's handler builds the card with `card()`, which finds the
refused form in `g.documents_form`.
"""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from server import auth, transfer
from server.errors import said
from server.ui import form_errors
from server.ui.common import again, bp, case_or_task, redirect_with
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.documents import formats
from workflows.documents import service as documents
from workflows.errors import Conflict, ValidationFailed

_FORM_STATE = "documents_form"


def card(
    session: Session, principal: Principal, case: CaseFile, *, task_id: int | None = None
) -> dict[str, Any]:
    """What the documents card shows of a case the principal sees: its documents, whether they
    may add one, and a refused form of this request (values and messages) if there is one."""
    refused = g.get(_FORM_STATE)
    return {
        "case_id": case.id,
        "task_id": task_id,
        "listed": documents.documents_of(session, principal=principal, case_id=case.id),
        "may_add": documents.may_add(session, principal, case),
        "closed": case.status == "closed",
        "accept": ",".join(formats.FORMATS),
        "max_mb": documents.MAX_BYTES // (1024 * 1024),
        "form": refused if refused and refused.get("case_id") == case.id else None,
    }


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A byte count as people read it: 980 B, 12.3 KB, 4.5 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@bp.post("/cases/<int:case_id>/documents")
def case_document_add(case_id: int) -> Any:
    """添加材料: a file (and an optional title) on the case, on the step `task_id` if named."""
    rt = auth.runtime()
    task_id = request.args.get("task_id", type=int)
    title = ""
    try:
        upload = transfer.read_file()  # the body first: SQLite's write lock waits for no upload
        title = request.form.get("title", "")[:1000]
        with auth.writing() as (session, principal):
            row = documents.add(
                session,
                principal=principal,
                case_id=case_id,
                filename=upload.filename,
                content=upload.content,
                title=title,
                task_id=task_id,
                clock=rt.clock,
            )
            name = row.filename
    except ValidationFailed as err:
        return again(
            case_id,
            task_id,
            _FORM_STATE,
            {"action": "add", "title": title, "errors": form_errors.of_domain(err)},
        )
    except Conflict as err:  # the case was closed meanwhile
        return redirect_with(
            case_or_task(case_id, task_id, "documents"), said(err.message), "error"
        )
    return redirect_with(
        case_or_task(case_id, task_id, "documents"), _("已添加材料：%(name)s", name=name), "success"
    )


@bp.post("/documents/<int:document_id>/withdraw")
def document_withdraw(document_id: int) -> Any:
    """撤回 a document, with the reason; it stays listed, marked withdrawn."""
    rt = auth.runtime()
    task_id = request.args.get("task_id", type=int)
    reason = request.form.get("reason", "")[:5000]
    try:
        with auth.writing() as (session, principal):
            documents.withdraw(
                session, principal=principal, document_id=document_id, reason=reason, clock=rt.clock
            )
            found = documents.document(
                session, principal=principal, document_id=document_id
            ).document
            case_id, name = found.case_id, found.filename
    except (ValidationFailed, Conflict) as err:
        with auth.reading() as (session, principal):
            case_id = documents.document(
                session, principal=principal, document_id=document_id
            ).document.case_id
        if isinstance(err, Conflict):
            return redirect_with(
                case_or_task(case_id, task_id, "documents"), said(err.message), "error"
            )
        return again(
            case_id,
            task_id,
            _FORM_STATE,
            {
                "action": "withdraw",
                "document_id": document_id,
                "reason": reason,
                "errors": form_errors.of_domain(err),
            },
        )
    return redirect_with(
        case_or_task(case_id, task_id, "documents"), _("已撤回材料：%(name)s", name=name), "success"
    )


@bp.get("/documents/<int:document_id>/download")
def document_download(document_id: int) -> Any:
    """The file, as an attachment (the API's download: its name, accepted type, no sniffing)."""
    return transfer.serve_download(document_id)

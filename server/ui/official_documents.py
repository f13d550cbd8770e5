"""公文 on the pages: the official documents card of the case page, the task page (the 送达
step shows what it serves) and the cadre's case; its forms (regenerate, the signed 送达回证);
the PDF preview in the browser; the templates page with the 文号 setting.

The rules are the domain's (workflows/official/). A form posts here and comes back to the
page it was on (post/redirect/get); a refused form renders that page again (422) with the
message beside its field, as the documents card does.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from server import auth, transfer
from server.errors import said
from server.ui import form_errors
from server.ui.common import again, bp, case_or_task, redirect_with
from server.ui.i18n import content
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.documents import service as documents
from workflows.errors import Conflict, ValidationFailed
from workflows.official import context, conversion, kinds, numbering, pdf, service, templates, views

_FORM_STATE = "official_form"


def card(
    session: Session, principal: Principal, case: CaseFile, *, task_id: int | None = None
) -> dict[str, Any]:
    """What the 公文 card shows of a case: its documents the principal reads, what they may
    generate, and a refused form of this request if there is one."""
    refused = g.get(_FORM_STATE)
    return {
        "case_id": case.id,
        "task_id": task_id,
        "view": views.of_case(session, principal=principal, case_id=case.id),
        "titles": {key: kind.title for key, kind in kinds.KINDS.items()},
        "form": refused if refused and refused.get("case_id") == case.id else None,
    }


@bp.post("/cases/<int:case_id>/official-documents")
def official_generate(case_id: int) -> Any:
    """重新生成: a new version of the case's document from the current template (or its first)."""
    rt = auth.runtime()
    task_id = request.args.get("task_id", type=int)
    kind = request.form.get("kind", "")[:100]
    try:
        with auth.writing() as (session, principal):
            row = service.generate(
                session, principal=principal, case_id=case_id, kind=kind, clock=rt.clock
            )
            title, version = kinds.KINDS[row.kind].title, row.version
    except ValidationFailed as err:
        return again(
            case_id,
            task_id,
            _FORM_STATE,
            {"action": "generate", "errors": form_errors.of_domain(err)},
        )
    except Conflict as err:
        return redirect_with(case_or_task(case_id, task_id, "official"), said(err.message), "error")
    pdf.convert_pending(rt.db, clock=rt.clock, case_id=case_id)
    return redirect_with(
        case_or_task(case_id, task_id, "official"),
        _("已生成%(title)s第 %(version)d 版", title=content(title), version=version),
        "success",
    )


def _case_of(official_id: int) -> int:
    """The case of a document the caller reads (NotFound otherwise)."""
    with auth.reading() as (session, principal):
        return service.get(session, principal=principal, official_id=official_id).case_id


@bp.post("/official-documents/<int:official_id>/pdf")
def official_retry_pdf(official_id: int) -> Any:
    """重新转换 PDF of a document whose PDF failed: converted again before the page comes back."""
    rt = auth.runtime()
    task_id = request.args.get("task_id", type=int)
    case_id = _case_of(official_id)
    back = case_or_task(case_id, task_id, "official")
    try:
        with auth.writing() as (session, principal):
            pdf.retry(session, principal=principal, official_id=official_id, clock=rt.clock)
    except Conflict as err:
        return redirect_with(back, said(err.message), "error")
    pdf.convert_pending(rt.db, clock=rt.clock, case_id=case_id)
    with auth.reading() as (session, principal):
        error = service.get(session, principal=principal, official_id=official_id).pdf_error
    if error:
        return redirect_with(back, _("PDF 仍未能生成：%(error)s", error=error), "error")
    return redirect_with(back, _("PDF 已生成"), "success")


@bp.post("/official-documents/<int:official_id>/receipts")
def official_receipt(official_id: int) -> Any:
    """上传签收的送达回证: kept as 案件材料 and linked to the served document."""
    rt = auth.runtime()
    task_id = request.args.get("task_id", type=int)
    case_id = _case_of(official_id)
    try:
        upload = transfer.read_file()
        with auth.writing() as (session, principal):
            service.attach_receipt(
                session,
                principal=principal,
                official_id=official_id,
                filename=upload.filename,
                content=upload.content,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        return again(
            case_id,
            task_id,
            _FORM_STATE,
            {"action": "receipt", "official_id": official_id, "errors": form_errors.of_domain(err)},
        )
    except Conflict as err:
        return redirect_with(case_or_task(case_id, task_id, "official"), said(err.message), "error")
    return redirect_with(
        case_or_task(case_id, task_id, "official"), _("已上传签收的送达回证"), "success"
    )


@bp.get("/official-documents/<int:official_id>/preview")
def official_preview(official_id: int) -> Any:
    """The document's PDF shown in the browser (made now if the conversion has not run yet);
    the read is audited as a download of that file."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        found = service.get(session, principal=principal, official_id=official_id)
        case_id, pdf_id, error = found.case_id, found.pdf_document_id, found.pdf_error
    if pdf_id is None and error is None:
        pdf.convert_pending(rt.db, clock=rt.clock, case_id=case_id)
        with auth.reading() as (session, principal):
            found = service.get(session, principal=principal, official_id=official_id)
            pdf_id, error = found.pdf_document_id, found.pdf_error
    if pdf_id is None:
        raise Conflict(
            _("本文书的 PDF 未能生成：%(error)s。请下载 DOCX，或重新生成。", error=error)
        )
    with auth.writing() as (session, principal):
        got = documents.download(session, principal=principal, document_id=pdf_id, clock=rt.clock)
    return transfer.inline_pdf(got.content, got.filename, got.sha256)


# --- templates and numbering ---------------------------------------------------------------


def _templates_page(
    upload_form: dict[str, Any] | None = None,
    numbering_form: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    with auth.reading() as (session, principal):
        listed = views.template_list(session, principal=principal)
        unit = (
            numbering.administered(session, principal=principal, org_unit_code=principal.org_unit)
            if principal.role == "admin"
            else None
        )
    return render_template(
        "official_templates.html",
        listed=listed,
        placeholders=context.KNOWN,
        unit=unit,
        numbered=[(key, kind.title) for key, kind in kinds.KINDS.items() if kind.code],
        upload_form=upload_form or {},
        numbering_form=numbering_form or {},
        converter=conversion.available(),
    ), status


@bp.get("/official-templates")
def official_templates() -> Any:
    """公文模板: each kind's template and its versions, upload of a new version, preview with a
    sample case; for administrators also their unit's 文号 setting."""
    return _templates_page()


@bp.post("/official-templates/<string:kind>")
def official_template_upload(kind: str) -> Any:
    """A new version of a kind's template, checked before it is kept."""
    rt = auth.runtime()
    note = request.form.get("note", "")[:2000]
    try:
        upload = transfer.read_file()
        with auth.writing() as (session, principal):
            found = templates.upload(
                session,
                principal=principal,
                key=kind,
                filename=upload.filename,
                content=upload.content,
                note=note,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        return _templates_page(
            upload_form={"kind": kind, "note": note, "errors": form_errors.of_domain(err)},
            status=422,
        )
    return redirect_with(
        f"{url_for('ui.official_templates')}#template-{kind}",
        _(
            "已启用%(title)s模板第 %(version)d 版",
            title=content(kinds.KINDS[kind].title),
            version=found.version,
        ),
        "success",
    )


@bp.get("/official-templates/<string:kind>/versions/<int:version>")
def official_template_download(kind: str, version: int) -> Any:
    """One version of a template, as a .docx attachment."""
    with auth.reading() as (session, principal):
        templates.check_manager(principal)
        found = templates.version(session, kind, version)
    return transfer.download_response(
        documents.Download(
            filename=found.filename,
            content_type=templates.DOCX_TYPE,
            content=found.content,
            sha256=found.sha256,
        )
    )


@bp.get("/official-templates/<string:kind>/preview")
def official_template_preview(kind: str) -> Any:
    """The current template (or `?version=`) filled with a sample case, as a PDF."""
    number = request.args.get("version", type=int)
    with auth.reading() as (session, principal):
        templates.check_manager(principal)
        found = (
            templates.version(session, kind, number) if number else templates.current(session, kind)
        )
    try:
        content = templates.preview(found)
    except conversion.ConversionFailed as err:
        raise Conflict(_("预览失败：%(error)s", error=str(err))) from None
    return transfer.inline_pdf(content, f"{kinds.KINDS[kind].title}.pdf", found.sha256)


@bp.post("/official-templates/numbering")
def official_numbering() -> Any:
    """The administrator's unit's 文号 setting: 发文机关, 机关代字 per kind, 抄送."""
    rt = auth.runtime()
    form = {
        "organ": request.form.get("organ", "")[:1000],
        "copy_to": request.form.get("copy_to", "")[:1000],
        "prefixes": {
            key: request.form.get(f"prefix-{key}", "")[:1000]
            for key, kind in kinds.KINDS.items()
            if kind.code
        },
    }
    try:
        with auth.writing() as (session, principal):
            numbering.put(
                session,
                principal=principal,
                org_unit_code=principal.org_unit,
                organ=form["organ"],
                prefixes=form["prefixes"],
                copy_to=form["copy_to"],
                clock=rt.clock,
            )
    except ValidationFailed as err:
        return _templates_page(
            numbering_form={**form, "errors": form_errors.of_domain(err)}, status=422
        )
    return redirect_with(
        f"{url_for('ui.official_templates')}#numbering", _("已保存文号设置"), "success"
    )

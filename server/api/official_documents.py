"""公文 (/api/v1/cases/{id}/official-documents, /api/v1/official-documents/{id},
/api/v1/official-templates, /api/v1/admin/official-numbering/{unit}): the documents a case's
decisions produced, (re)generating them, the signed 送达回证, the templates and the 文号 setting.

Files download through the existing document routes (`/api/v1/documents/{id}/content`), with
their authorization: a cadre reads only the documents served on them.
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import EXCLUDE, Schema, fields, validate

from server import auth
from server.api.case_bodies import text
from server.api.common import Blueprint
from server.transfer import download_response, inline_pdf, read_file
from workflows.documents.service import Download
from workflows.errors import Conflict
from workflows.messages import t
from workflows.official import context, conversion, kinds, numbering, pdf, service, templates, views

blp = Blueprint("official_documents", __name__, description="公文：决定书、送达回证、模板、文号")

_KIND = validate.OneOf(list(kinds.KINDS))


class ServiceSchema(Schema):
    served_on = fields.Date(required=True, metadata={"description": "送达（收到）日期"})
    manner = fields.String(
        allow_none=True, metadata={"description": "送达方式：in_person、unit、mail"}
    )
    manner_name = fields.String(allow_none=True, metadata={"description": "送达方式（中文）"})
    note = fields.String(allow_none=True, metadata={"description": "送达情况（干部本人不见）"})


class OfficialSchema(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    kind = fields.String(
        required=True, metadata={"description": f"文书种类：{'、'.join(kinds.KINDS)}"}
    )
    title = fields.String(required=True, metadata={"description": "文种，如“问责决定书”"})
    issue = fields.Integer(
        required=True, metadata={"description": "本案第几次制发（退回后重新决定为新的一次）"}
    )
    version = fields.Integer(
        required=True, metadata={"description": "同一次制发的第几版（重新生成加一）"}
    )
    number = fields.String(
        allow_none=True, metadata={"description": "文号，如“皖纪问〔2026〕12号”"}
    )
    template_version = fields.Integer(required=True)
    generated_at = fields.DateTime(required=True)
    generated_by_name = fields.String(
        required=True, metadata={"description": "生成人（干部本人见机关名）"}
    )
    docx_url = fields.String(required=True, metadata={"description": "DOCX 下载地址"})
    pdf_url = fields.String(
        allow_none=True, metadata={"description": "PDF 下载地址（尚未转换为 null）"}
    )
    pdf_status = fields.String(required=True, metadata={"description": "ready、pending、failed"})
    pdf_error = fields.String(allow_none=True)
    superseded = fields.Boolean(required=True, metadata={"description": "已因退回/撤回作废"})
    current = fields.Boolean(required=True, metadata={"description": "本次制发的最新版且未作废"})
    services = fields.List(fields.Nested(ServiceSchema), required=True)
    receipt_urls = fields.List(
        fields.String(), required=True, metadata={"description": "已签收的送达回证"}
    )
    may_attach_receipt = fields.Boolean(required=True)
    may_retry_pdf = fields.Boolean(
        required=True,
        metadata={"description": "PDF 生成失败，且我可以重新转换（POST …/pdf）"},
    )


class OfficialListSchema(Schema):
    items = fields.List(fields.Nested(OfficialSchema), required=True)
    kinds = fields.List(fields.String(), required=True, metadata={"description": "我可生成的种类"})
    may_generate = fields.Boolean(required=True)


class GenerateArgs(Schema):
    kind = fields.String(required=True, validate=_KIND, metadata={"description": "文书种类"})


class TemplateVersionSchema(Schema):
    version = fields.Integer(required=True, metadata={"description": "版本；系统自带模板为第 1 版"})
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    note = fields.String(allow_none=True)
    uploaded_by = fields.String(
        allow_none=True, metadata={"description": "上传人（自带模板为 null）"}
    )
    uploaded_at = fields.DateTime(allow_none=True)
    content_url = fields.String(required=True)


class TemplateSchema(Schema):
    kind = fields.String(required=True)
    title = fields.String(required=True)
    current = fields.Nested(TemplateVersionSchema, required=True)
    versions = fields.List(fields.Nested(TemplateVersionSchema), required=True)
    preview_url = fields.String(required=True, metadata={"description": "用示例案件预览（PDF）"})


class TemplateListSchema(Schema):
    items = fields.List(fields.Nested(TemplateSchema), required=True)
    placeholders = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "模板可用的占位符及其含义"},
    )


class TemplateUploadFields(Schema):
    class Meta:
        unknown = EXCLUDE

    note = fields.String(validate=text(0, templates.NOTE_MAX), metadata={"description": "版本说明"})


class NumberingSchema(Schema):
    org_unit_code = fields.String(required=True)
    organ = fields.String(
        required=True, metadata={"description": "发文机关，如“中共安徽省纪律检查委员会”"}
    )
    prefixes = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": '各种文书的机关代字，如 {"accountability_decision": "皖纪问"}'},
    )
    copy_to = fields.String(required=True, metadata={"description": "抄送机关（可为空）"})
    configured = fields.Boolean(required=True, metadata={"description": "false：全部为默认值"})


class NumberingArgs(Schema):
    organ = fields.String(required=True, metadata={"description": "发文机关"})
    prefixes = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=dict,
        metadata={"description": "机关代字，按文书种类；未给的种类用默认值"},
    )
    copy_to = fields.String(load_default="", metadata={"description": "抄送机关"})


_MULTIPART = {
    "required": True,
    "description": "multipart/form-data：字段 file（必填）",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "note": {"type": "string"},
                },
            }
        }
    },
}


# --- shaping --------------------------------------------------------------------------------


def _content(document_id: int) -> str:
    return f"/api/v1/documents/{document_id}/content"


def official_item(item: views.OfficialView) -> dict[str, Any]:
    return {
        "id": item.id,
        "case_id": item.case_id,
        "kind": item.kind,
        "title": item.title,
        "issue": item.issue,
        "version": item.version,
        "number": item.number,
        "template_version": item.template_version,
        "generated_at": item.generated_at,
        "generated_by_name": item.generated_by_name,
        "docx_url": _content(item.docx_document_id),
        "pdf_url": _content(item.pdf_document_id) if item.pdf_document_id else None,
        "pdf_status": item.pdf_status,
        "pdf_error": item.pdf_error,
        "superseded": item.superseded,
        "current": item.current,
        "services": [vars(found) for found in item.services],
        "receipt_urls": [_content(document_id) for document_id in item.receipt_document_ids],
        "may_attach_receipt": item.may_attach_receipt,
        "may_retry_pdf": item.may_retry_pdf,
    }


def _version(found: templates.Version) -> dict[str, Any]:
    return {
        "version": found.version,
        "filename": found.filename,
        "sha256": found.sha256,
        "note": found.note,
        "uploaded_by": found.uploaded_by,
        "uploaded_at": found.uploaded_at,
        "content_url": f"/api/v1/official-templates/{found.kind}/versions/{found.version}/content",
    }


def _numbering(found: numbering.Numbering) -> dict[str, Any]:
    return vars(found)


# --- case documents -------------------------------------------------------------------------


@blp.route("/cases/<int:case_id>/official-documents")
@blp.response(200, OfficialListSchema)
def list_official(case_id: int) -> Any:
    """The official documents of a case I may see, every version, newest first per kind: 文号,
    files (DOCX, PDF), whether superseded, the service (送达) and signed receipts. A cadre sees
    only documents served on them."""
    with auth.reading() as (session, principal):
        found = views.of_case(session, principal=principal, case_id=case_id)
        return {
            "items": [official_item(item) for item in found.items],
            "kinds": list(found.kinds),
            "may_generate": found.may_generate,
        }


@blp.route("/cases/<int:case_id>/official-documents", methods=["POST"])
@blp.arguments(GenerateArgs)
@blp.response(201, OfficialSchema)
def generate_official(args: dict[str, Any], case_id: int) -> Any:
    """(Re)generate a document of a case from the current template: a new version of its latest
    issue (same 文号), or its first issue if it has none. For the managing unit's discipline,
    organization and committee users (403 for others). The PDF is made before the answer."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        row = service.generate(
            session, principal=principal, case_id=case_id, kind=args["kind"], clock=rt.clock
        )
        official_id = row.id
    pdf.convert_pending(rt.db, clock=rt.clock, case_id=case_id)
    with auth.reading() as (session, principal):
        return official_item(views.one(session, principal=principal, official_id=official_id))


@blp.route("/official-documents/<int:official_id>")
@blp.response(200, OfficialSchema)
def get_official(official_id: int) -> Any:
    """One official document (a cadre: only one served on them)."""
    with auth.reading() as (session, principal):
        return official_item(views.one(session, principal=principal, official_id=official_id))


@blp.route("/official-documents/<int:official_id>/pdf", methods=["POST"])
@blp.response(200, OfficialSchema)
def retry_pdf(official_id: int) -> Any:
    """重新转换 PDF: a document whose PDF failed (`pdf_status` failed) is converted again before
    the answer, which shows the outcome (ready, or failed with the new error). For those who
    may generate the case's documents (403 for others); 409 when it has its PDF, is still
    waiting for one, was voided by a 退回/撤回, or no LibreOffice is installed."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        case_id = pdf.retry(session, principal=principal, official_id=official_id, clock=rt.clock)
    pdf.convert_pending(rt.db, clock=rt.clock, case_id=case_id)
    with auth.reading() as (session, principal):
        return official_item(views.one(session, principal=principal, official_id=official_id))


@blp.route("/official-documents/<int:official_id>/receipts", methods=["POST"])
@blp.doc(requestBody=_MULTIPART)
@blp.response(201, OfficialSchema)
def attach_receipt(official_id: int) -> Any:
    """Upload the signed 送达回证 of a served document: kept as 案件材料 and linked to it. For
    those who may add material to the case (not the cadre)."""
    rt = auth.runtime()
    upload = read_file()
    with auth.writing() as (session, principal):
        service.attach_receipt(
            session,
            principal=principal,
            official_id=official_id,
            filename=upload.filename,
            content=upload.content,
            clock=rt.clock,
        )
        return official_item(views.one(session, principal=principal, official_id=official_id))


# --- templates ------------------------------------------------------------------------------


def _template(view: views.TemplateView) -> dict[str, Any]:
    return {
        "kind": view.kind,
        "title": view.title,
        "current": _version(view.current),
        "versions": [_version(found) for found in view.versions],
        "preview_url": f"/api/v1/official-templates/{view.kind}/preview",
    }


@blp.route("/official-templates")
@blp.response(200, TemplateListSchema)
def list_templates() -> Any:
    """Every kind's template with its versions (administrators and designers; 403 otherwise),
    and the placeholders a template may use."""
    with auth.reading() as (session, principal):
        return {
            "items": [
                _template(view) for view in views.template_list(session, principal=principal)
            ],
            "placeholders": context.KNOWN,
        }


@blp.route("/official-templates/<string:kind>", methods=["POST"])
@blp.doc(requestBody=_MULTIPART)
@blp.response(201, TemplateVersionSchema)
def upload_template(kind: str) -> Any:
    """Upload a new version of a kind's template (administrators and designers): a .docx whose
    placeholders are all known and which renders a sample case; 422 on `file` names the problem."""
    rt = auth.runtime()
    upload = read_file()
    args = blp.ARGUMENTS_PARSER.parse(TemplateUploadFields(), location="form")
    with auth.writing() as (session, principal):
        found = templates.upload(
            session,
            principal=principal,
            key=kind,
            filename=upload.filename,
            content=upload.content,
            note=args.get("note"),
            clock=rt.clock,
        )
        return _version(found)


@blp.route("/official-templates/<string:kind>/versions/<int:version>/content")
def template_content(kind: str, version: int) -> Any:
    """Download one version of a kind's template (.docx), to edit it in Word or WPS."""
    with auth.reading() as (session, principal):
        templates.check_manager(principal)
        found = templates.version(session, kind, version)
    return download_response(
        Download(
            filename=found.filename,
            content_type=templates.DOCX_TYPE,
            content=found.content,
            sha256=found.sha256,
        )
    )


@blp.route("/official-templates/<string:kind>/preview")
def preview_template(kind: str) -> Any:
    """The current template (or `?version=`) filled with a sample case, as a PDF shown in the
    browser (administrators and designers)."""
    with auth.reading() as (session, principal):
        templates.check_manager(principal)
        number = request.args.get("version", type=int)
        found = (
            templates.version(session, kind, number) if number else templates.current(session, kind)
        )
    try:
        content = templates.preview(found)
    except conversion.ConversionFailed as err:
        raise Conflict(t("预览失败：%(reason)s", reason=str(err))) from None
    return inline_pdf(content, f"{kinds.KINDS[kind].title}（示例）.pdf", found.sha256)


# --- numbering ------------------------------------------------------------------------------


@blp.route("/admin/official-numbering/<string:org_unit_code>")
@blp.response(200, NumberingSchema)
def get_numbering(org_unit_code: str) -> Any:
    """A unit's 文号 setting: 发文机关, 机关代字 per kind, 抄送 (administrators)."""
    with auth.reading() as (session, principal):
        return _numbering(
            numbering.administered(session, principal=principal, org_unit_code=org_unit_code)
        )


@blp.route("/admin/official-numbering/<string:org_unit_code>", methods=["PUT"])
@blp.arguments(NumberingArgs)
@blp.response(200, NumberingSchema)
def put_numbering(args: dict[str, Any], org_unit_code: str) -> Any:
    """Set a unit's 文号 setting (administrators of the unit or above). A new 机关代字 counts from 1;
    numbers already given keep theirs."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        return _numbering(
            numbering.put(
                session,
                principal=principal,
                org_unit_code=org_unit_code,
                organ=args["organ"],
                prefixes=args["prefixes"],
                copy_to=args["copy_to"],
                clock=rt.clock,
            )
        )

"""案件材料 (/api/v1/cases/{id}/documents, /api/v1/documents/{id}): list, upload, read, download
and withdraw (撤回) the documents of a case.

Who may do what is the domain's table (workflows/documents/service.py): everyone who sees the
case lists and downloads; those who work on it add; the managing unit's clerks and whoever
added a document withdraw it. A download is always an attachment, never rendered here.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from server import auth
from server.api.case_bodies import text
from server.api.common import Blueprint, person_name
from server.transfer import MAX_MB, read_file, serve_download
from workflows import access
from workflows.documents import formats
from workflows.documents import service as documents

blp = Blueprint("documents", __name__, description="案件材料：列表、上传、下载、撤回")


class UploadFieldsSchema(Schema):
    """The text fields of an upload (multipart/form-data)."""

    class Meta:
        unknown = EXCLUDE  # the file itself, a page form's csrf_token

    title = fields.String(
        validate=text(0, documents.TITLE_MAX),
        metadata={"description": f"标题（可选，至多 {documents.TITLE_MAX} 字），如“调查报告”"},
    )
    description = fields.String(
        validate=text(0, documents.DESCRIPTION_MAX), metadata={"description": "说明（可选）"}
    )
    task_id = fields.Integer(
        validate=validate.Range(min=1, max=access.MAX_ID),
        metadata={"description": "在哪个环节（本案的任务）添加（可选）"},
    )


class UploadSchema(UploadFieldsSchema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": f"文件：{formats.ACCEPTED}；不超过 {MAX_MB} MB；扩展名须与文件内容相符",
        },
    )


_UPLOAD_FIELDS = UploadFieldsSchema()
_UPLOAD_BODY = {
    "required": True,
    "description": "multipart/form-data：字段 file（必填）、title、description、task_id",
    "content": {"multipart/form-data": {"schema": UploadSchema}},
}


class WithdrawalSchema(Schema):
    withdrawn_by = fields.String(
        required=True, metadata={"description": "撤回人的用户名（干部本人只见自己的，否则为空）"}
    )
    withdrawn_by_name = person_name("撤回人")
    withdrawn_at = fields.DateTime(required=True)
    reason = fields.String(required=True, metadata={"description": "撤回理由"})


class DocumentSchema(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    case_number = fields.String(required=True)
    filename = fields.String(required=True, metadata={"description": "上传时的文件名"})
    title = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "字节数"})
    sha256 = fields.String(required=True, metadata={"description": "内容的 SHA-256（十六进制）"})
    task_id = fields.Integer(allow_none=True, metadata={"description": "添加时所在的环节（任务）"})
    task_name = fields.String(allow_none=True)
    uploaded_by = fields.String(
        required=True, metadata={"description": "添加人的用户名（干部本人只见自己的，否则为空）"}
    )
    uploaded_by_name = person_name("添加人")
    uploaded_at = fields.DateTime(required=True)
    withdrawn = fields.Boolean(required=True)
    withdrawal = fields.Nested(
        WithdrawalSchema, allow_none=True, metadata={"description": "撤回记录（未撤回为 null）"}
    )
    may_withdraw = fields.Boolean(required=True, metadata={"description": "我能否撤回"})
    content_url = fields.String(required=True, metadata={"description": "下载地址"})


class DocumentListSchema(Schema):
    items = fields.List(
        fields.Nested(DocumentSchema), required=True, metadata={"description": "按添加先后"}
    )
    may_add = fields.Boolean(required=True, metadata={"description": "我能否为本案添加材料"})
    max_bytes = fields.Integer(required=True, metadata={"description": "单个文件的上限（字节）"})
    accepted = fields.List(fields.String(), required=True, metadata={"description": "接受的扩展名"})


class DocumentWithdrawArgs(Schema):
    reason = fields.String(
        required=True,
        validate=text(1, documents.REASON_MAX, blank=False),
        metadata={"description": "撤回理由（必填）"},
    )


_CONTENT_DOC = {
    "responses": {
        "200": {
            "description": "文件内容，作为附件下载（Content-Disposition: attachment）",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in (*formats.CONTENT_TYPES, "application/octet-stream")
            },
        }
    }
}


# --- shaping --------------------------------------------------------------------------------


def document_item(listed: documents.Listed) -> dict[str, Any]:
    row, withdrawal = listed.document, listed.withdrawal
    return {
        "id": row.id,
        "case_id": row.case_id,
        "case_number": listed.case_number,
        "filename": row.filename,
        "title": row.title,
        "description": row.description,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "task_id": row.task_id,
        "task_name": listed.task_name,
        "uploaded_by": listed.uploader,
        "uploaded_by_name": listed.uploaded_by_name,
        "uploaded_at": row.uploaded_at,
        "withdrawn": withdrawal is not None,
        "withdrawal": (
            {
                "withdrawn_by": listed.withdrawer,
                "withdrawn_by_name": listed.withdrawn_by_name,
                "withdrawn_at": withdrawal.withdrawn_at,
                "reason": withdrawal.reason,
            }
            if withdrawal
            else None
        ),
        "may_withdraw": listed.may_withdraw,
        "content_url": f"/api/v1/documents/{row.id}/content",
    }


# --- routes ---------------------------------------------------------------------------------


@blp.route("/cases/<int:case_id>/documents")
@blp.response(200, DocumentListSchema)
def list_documents(case_id: int) -> Any:
    """The documents of a case I may see, in the order they were added, withdrawn ones marked
    with who withdrew them, when and why; whether I may add one."""
    with auth.reading() as (session, principal):
        listed = documents.documents_of(session, principal=principal, case_id=case_id)
        case = access.get_case_to_read(session, principal, case_id)
        may_add = documents.may_add(session, principal, case)
        return {
            "items": [document_item(item) for item in listed],
            "may_add": may_add,
            "max_bytes": documents.MAX_BYTES,
            "accepted": list(formats.FORMATS),
        }


@blp.route("/cases/<int:case_id>/documents", methods=["POST"])
@blp.doc(requestBody=_UPLOAD_BODY)
@blp.response(201, DocumentSchema)
def add_document(case_id: int) -> Any:
    """Add a document to a case I work on (its managing unit's discipline or organization clerks,
    a role with an open task of the case, the cadre concerned), while the case is not closed
    (409). The file's extension and its content must agree and be of an accepted kind, at most
    10 MB (422 names the field). Returns the document."""
    rt = auth.runtime()
    upload = read_file()  # before the write transaction: SQLite's write lock waits for no upload
    args = blp.ARGUMENTS_PARSER.parse(_UPLOAD_FIELDS, location="form")
    with auth.writing() as (session, principal):
        row = documents.add(
            session,
            principal=principal,
            case_id=case_id,
            filename=upload.filename,
            content=upload.content,
            title=args.get("title"),
            description=args.get("description"),
            task_id=args.get("task_id"),
            clock=rt.clock,
        )
        return document_item(documents.document(session, principal=principal, document_id=row.id))


@blp.route("/documents/<int:document_id>")
@blp.response(200, DocumentSchema)
def get_document(document_id: int) -> Any:
    """One document of a case I may see: name, title, type, size, SHA-256, who added it when and
    on which step, its withdrawal if any."""
    with auth.reading() as (session, principal):
        return document_item(
            documents.document(session, principal=principal, document_id=document_id)
        )


@blp.route("/documents/<int:document_id>/content")
@blp.doc(**_CONTENT_DOC)
def get_document_content(document_id: int) -> Any:
    """Download a document of a case I may see (withdrawn ones too): always as an attachment,
    with its file name (RFC 5987 for Chinese names) and its accepted type, never sniffed."""
    return serve_download(document_id)


@blp.route("/documents/<int:document_id>/withdraw", methods=["POST"])
@blp.arguments(DocumentWithdrawArgs)
@blp.response(200, DocumentSchema)
def withdraw_document(args: dict[str, Any], document_id: int) -> Any:
    """Withdraw (撤回) a document, with a reason: by the case's managing-unit discipline or
    organization clerks, or by whoever added it; once; not on a closed case. The document stays
    listed and downloadable, marked withdrawn."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        documents.withdraw(
            session,
            principal=principal,
            document_id=document_id,
            reason=args["reason"],
            clock=rt.clock,
        )
        return document_item(
            documents.document(session, principal=principal, document_id=document_id)
        )

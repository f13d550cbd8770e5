"""表单设计 (/api/v1/forms): user-task forms, their drafts, a preview check and deploying.

Designers and administrators read forms and try sample data; only designers save, discard
and deploy. A save names the revision it started from (`base_revision`, 0 for a new
draft): a draft saved meanwhile answers 409 `draft_conflict` with the draft as stored now.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint
from server.api.processes import DeployResultSchema
from workflows.definitions import catalog, form_checks, form_drafts
from workflows.engine import form_messages

blp = Blueprint("forms", __name__, description="表单设计：表单、草稿、试填校验、部署")


class DraftSchema(Schema):
    revision = fields.Integer(required=True, metadata={"description": "第几稿（每次保存加 1）"})
    saved_by = fields.String(required=True)
    saved_at = fields.DateTime(required=True)


class DraftContentSchema(DraftSchema):
    schema = fields.Dict(required=True, metadata={"description": "草稿的 JSON Schema"})
    uischema = fields.Dict(required=True, metadata={"description": "草稿的界面设置（UI Schema）"})


class UsedBySchema(Schema):
    key = fields.String(required=True, metadata={"description": "流程键"})
    version = fields.Integer(required=True, metadata={"description": "使用它的最新版本"})


class FormSummarySchema(Schema):
    stem = fields.String(
        required=True,
        metadata={"description": "表单名：<stem>.schema.json 与 <stem>.uischema.json"},
    )
    title = fields.String(required=True, metadata={"description": "表单标题（有草稿时为草稿的）"})
    deployed = fields.Boolean(required=True, metadata={"description": "已随流程部署"})
    used_by = fields.List(fields.Nested(UsedBySchema), required=True)
    draft = fields.Nested(
        DraftSchema, allow_none=True, metadata={"description": "草稿；无则为 null"}
    )


class FormDetailSchema(FormSummarySchema):
    schema = fields.Dict(allow_none=True, metadata={"description": "已部署的 JSON Schema"})
    uischema = fields.Dict(allow_none=True, metadata={"description": "已部署的界面设置"})
    draft = fields.Nested(DraftContentSchema, allow_none=True)


class DraftSaveSchema(Schema):
    schema = fields.Raw(required=True, metadata={"description": "JSON Schema 2020-12（对象）"})
    uischema = fields.Raw(required=True, metadata={"description": "界面设置（对象，可为 {}）"})
    base_revision = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata={"description": "编辑所基于的草稿稿次；新草稿为 0"},
    )


class DraftSavedSchema(Schema):
    stem = fields.String(required=True)
    revision = fields.Integer(required=True)
    saved_by = fields.String(required=True)
    saved_at = fields.DateTime(required=True)


class DiscardArgs(Schema):
    revision = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "只在草稿仍为此稿时放弃（防止放弃他人刚保存的修改）"},
    )


class PreviewSchema(Schema):
    schema = fields.Raw(required=True, metadata={"description": "要试填的 JSON Schema"})
    uischema = fields.Raw(load_default=dict, metadata={"description": "界面设置"})
    data = fields.Dict(load_default=dict, metadata={"description": "试填的表单数据"})


class FieldMessageSchema(Schema):
    field = fields.String(required=True, metadata={"description": "字段路径，如 decided_on"})
    message = fields.String(required=True, metadata={"description": "中文说明"})


class PreviewResultSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "办理时提交这些数据会被接受"})
    errors = fields.List(fields.Nested(FieldMessageSchema), required=True)


class FormDeploySchema(Schema):
    note = fields.String(load_default=None, metadata={"description": "版本说明（1-500 字）"})
    confirm = fields.Boolean(load_default=False, metadata={"description": "确认警告后部署"})


def _draft(found: form_drafts.DraftView | None, *, content: bool) -> dict[str, Any] | None:
    if found is None:
        return None
    shown: dict[str, Any] = {
        "revision": found.revision,
        "saved_by": found.saved_by,
        "saved_at": found.saved_at,
    }
    if content:
        shown.update(schema=found.schema, uischema=found.uischema)
    return shown


def _summary(form: form_drafts.FormView, *, content: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "stem": form.stem,
        "title": form.title,
        "deployed": form.schema is not None,
        "used_by": [{"key": key, "version": version} for key, version in form.used_by],
        "draft": _draft(form.draft, content=content),
    }
    if content:
        shown.update(schema=form.schema, uischema=form.uischema)
    return shown


@blp.route("/forms")
@blp.response(200, FormSummarySchema(many=True))
def list_forms() -> Any:
    """Every form of the processes' latest versions and every draft, with who saved the
    draft when (designers and administrators)."""
    with auth.reading() as (session, principal):
        found = form_drafts.list_forms(session, principal=principal)
    return [_summary(form) for form in found]


@blp.route("/forms/<string:stem>")
@blp.response(200, FormDetailSchema)
def get_form(stem: str) -> Any:
    """One form: the deployed schema and UI schema, the processes using it, and the draft
    with its revision (designers and administrators)."""
    with auth.reading() as (session, principal):
        found = form_drafts.get(session, principal=principal, stem=stem)
    return _summary(found, content=True)


@blp.route("/forms/<string:stem>/draft", methods=["PUT"])
@blp.arguments(DraftSaveSchema)
@blp.response(200, DraftSavedSchema)
def save_draft(args: dict[str, Any], stem: str) -> Any:
    """Save the draft as revision `base_revision + 1`: checked as a deployment checks forms
    (422 naming the JSON path, nothing stored); 409 `draft_conflict` when someone saved
    since `base_revision`, with `draft` naming the revision stored now, who and when
    (designers only)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        saved = form_drafts.save(
            session,
            principal=principal,
            stem=stem,
            schema=args["schema"],
            uischema=args["uischema"],
            base_revision=args["base_revision"],
            clock=rt.clock,
        )
    return {
        "stem": saved.stem,
        "revision": saved.revision,
        "saved_by": saved.saved_by,
        "saved_at": saved.saved_at,
    }


@blp.route("/forms/<string:stem>/draft", methods=["DELETE"])
@blp.arguments(DiscardArgs, location="query")
@blp.response(204)
def discard_draft(args: dict[str, Any], stem: str) -> Any:
    """Discard the draft; the deployed form stays. With `revision`, only while the draft is
    still that revision (else 409 `draft_conflict`) (designers only)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        form_drafts.discard(
            session, principal=principal, stem=stem, revision=args["revision"], clock=rt.clock
        )
    return "", 204


@blp.route("/forms/<string:stem>/preview", methods=["POST"])
@blp.arguments(PreviewSchema)
@blp.response(200, PreviewResultSchema)
def preview_form(args: dict[str, Any], stem: str) -> Any:
    """Check sample data against a form being designed with the validator the completion of
    a task applies; each problem in Chinese under its field, as the task page words it. A
    form that could not be saved is refused as saving refuses it (422). Nothing is stored
    (designers and administrators)."""
    with auth.reading() as (_session, principal):
        catalog.check_may_read_sources(principal)
    form_checks.check_stem(stem)
    form_checks.check_form(args["schema"], args["uischema"])
    today = auth.runtime().clock.today()
    errors = form_messages.problems(args["schema"], args["data"], today=today, gettext=_)
    return {"ok": not errors, "errors": errors}


@blp.route("/forms/<string:stem>/deploy", methods=["POST"])
@blp.arguments(FormDeploySchema)
@blp.response(201, DeployResultSchema)
def deploy_form(args: dict[str, Any], stem: str) -> Any:
    """Deploy every process whose latest version uses the form, from its latest BPMN with
    the form's draft, as new versions in one transaction; the draft is deleted. Errors
    refuse it all (422); warnings need `confirm` (409 `confirmation_required`); 404 when no
    process uses the form (designers only)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        result = form_drafts.deploy_form(
            session,
            principal=principal,
            stem=stem,
            forms_dir=rt.settings.forms_dir,
            max_bytes=rt.settings.max_definition_bytes,
            clock=rt.clock,
            note=args["note"] or "",
            confirm=args["confirm"],
        )
    return {
        "deployed": [{"key": k, "version": v} for k, v in result.deployed],
        "unchanged": [{"key": k, "version": v} for k, v in result.unchanged],
        "warnings": [p.as_dict() for p in result.warnings],
    }

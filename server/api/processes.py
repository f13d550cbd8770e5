"""流程定义 (/api/v1/processes): the catalogue, versions and diagrams, validating and deploying.

Everyone logged in reads the catalogue (clerks need the processes' names) and the
diagram of a version (a case page shows it); the BPMN XML in the catalogue is for
designers and administrators; only designers validate and deploy.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import PurePosixPath
from typing import Any

from flask import Response, request
from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint
from workflows import access
from workflows.definitions import catalog, deployment, diff, form_drafts
from workflows.definitions.deployment import SourceFile
from workflows.errors import ValidationFailed
from workflows.messages import t

blp = Blueprint("processes", __name__, description="流程定义：列表、版本、校验、部署")

MAX_FILES = 50
SUFFIXES = (".bpmn", ".dmn")


class DefinitionFileSchema(Schema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "文件名，以 .bpmn 或 .dmn 结尾；流程文件名即流程键"},
    )
    content = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "文件内容（XML 文本）"},
    )


class DefinitionsJsonSchema(Schema):
    files = fields.List(
        fields.Nested(DefinitionFileSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_FILES),
    )
    note = fields.String(
        load_default=None,
        metadata={"description": "版本说明（部署时必填，1-500 字）；校验时忽略"},
    )
    confirm = fields.Boolean(
        load_default=False,
        metadata={"description": "确认警告后部署；有警告而未确认时返回 409 并列出警告"},
    )


class DefinitionsUploadSchema(Schema):
    files = fields.List(
        fields.Raw(metadata={"type": "string", "format": "binary"}),
        required=True,
        validate=validate.Length(min=1, max=MAX_FILES),
        metadata={"description": "一个或多个 .bpmn / .dmn 文件"},
    )
    note = fields.String(
        load_default=None, metadata={"description": "版本说明（部署时必填，1-500 字）"}
    )
    confirm = fields.Boolean(load_default=False, metadata={"description": "确认警告后部署"})


_UPLOAD_BODY = {
    "required": True,
    "description": "JSON（文件名与内容）或 multipart/form-data（字段 files）",
    "content": {
        "application/json": {"schema": DefinitionsJsonSchema},
        "multipart/form-data": {"schema": DefinitionsUploadSchema},
    },
}


class DefinitionProblemSchema(Schema):
    file = fields.String(required=True)
    element = fields.String(allow_none=True, metadata={"description": "出问题的 BPMN/DMN 元素 id"})
    name = fields.String(allow_none=True, metadata={"description": "该元素的名称"})
    severity = fields.String(
        required=True,
        validate=validate.OneOf(["error", "warning"]),
        metadata={"description": "error：拒绝部署；warning：确认后可部署"},
    )
    reason = fields.String(required=True, metadata={"description": "问题说明（中文）"})


class CheckedProcessSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    file = fields.String(required=True)


class CheckedDecisionSchema(Schema):
    key = fields.String(required=True)
    file = fields.String(required=True)


class ValidationResultSchema(Schema):
    ok = fields.Boolean(
        required=True, metadata={"description": "没有错误时为 true（可能仍有警告）"}
    )
    errors = fields.Integer(required=True, metadata={"description": "错误数（拒绝部署）"})
    warnings = fields.Integer(required=True, metadata={"description": "警告数（须确认）"})
    problems = fields.List(fields.Nested(DefinitionProblemSchema), required=True)
    processes = fields.List(
        fields.Nested(CheckedProcessSchema),
        required=True,
        metadata={"description": "部署这些文件将存储的流程（有错误、整体拒绝时为空）"},
    )
    decisions = fields.List(
        fields.Nested(CheckedDecisionSchema),
        required=True,
        metadata={"description": "部署这些文件将存储的决策表（有错误、整体拒绝时为空）"},
    )


class KeyVersionSchema(Schema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)


class DeployResultSchema(Schema):
    deployed = fields.List(
        fields.Nested(KeyVersionSchema), required=True, metadata={"description": "新部署的版本"}
    )
    unchanged = fields.List(
        fields.Nested(KeyVersionSchema),
        required=True,
        metadata={"description": "内容未变、沿用的已有版本"},
    )
    warnings = fields.List(
        fields.Nested(DefinitionProblemSchema),
        required=True,
        metadata={"description": "部署时已确认的警告"},
    )


class VersionCountSchema(Schema):
    version = fields.Integer(required=True)
    running = fields.Integer(required=True)


class ProcessSummarySchema(Schema):
    key = fields.String(required=True, metadata={"description": "流程键，如 accountability"})
    name = fields.String(
        required=True, metadata={"description": "流程名称（最新版本的 BPMN 名称）"}
    )
    latest_version = fields.Integer(required=True)
    deployed_at = fields.DateTime(required=True, metadata={"description": "最新版本的部署时间"})
    deployed_by = fields.String(required=True, metadata={"description": "部署人的用户名"})
    deployed_by_name = fields.String(
        required=True, metadata={"description": "部署人：姓名（单位·岗位）"}
    )
    version_count = fields.Integer(required=True)
    running = fields.Integer(required=True, metadata={"description": "我可见的运行中实例数"})
    running_by_version = fields.List(fields.Nested(VersionCountSchema), required=True)


class VersionSchema(Schema):
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    source_file = fields.String(required=True)
    content_hash = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(required=True, metadata={"description": "部署人的用户名"})
    deployed_by_name = fields.String(
        required=True, metadata={"description": "部署人：姓名（单位·岗位）"}
    )
    start_timer = fields.Boolean(
        required=True, metadata={"description": "由定时启动事件周期性启动"}
    )
    running = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    bpmn_url = fields.String(
        required=True, metadata={"description": "本版本流程图（BPMN XML）的地址"}
    )
    note = fields.String(
        allow_none=True, metadata={"description": "版本说明（早于此功能部署的版本为 null）"}
    )
    confirmed_warnings = fields.Integer(
        required=True, metadata={"description": "部署时确认的警告数"}
    )


class ProcessDetailSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    latest_version = fields.Integer(required=True)
    versions = fields.List(
        fields.Nested(VersionSchema), required=True, metadata={"description": "新版本在前"}
    )
    forms = fields.List(
        fields.String(), required=True, metadata={"description": "最新版本引用的表单文件"}
    )
    bpmn_xml = fields.String(
        allow_none=True, metadata={"description": "最新版本的 BPMN XML（仅流程设计和系统管理人员）"}
    )


class FieldChangeSchema(Schema):
    what = fields.String(
        required=True,
        metadata={
            "description": "type、name、lane，或 property:<属性名>（如 property:timeLimit、property:condition）"
        },
    )
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)


class ElementChangeSchema(Schema):
    id = fields.String(required=True, metadata={"description": "元素 id"})
    kind = fields.String(required=True, metadata={"description": "BPMN 元素类型，如 userTask"})
    kind_name = fields.String(required=True, metadata={"description": "元素类型的中文名"})
    name = fields.String(required=True)
    changes = fields.List(fields.Nested(FieldChangeSchema), required=True)


class VersionDiffSchema(Schema):
    key = fields.String(required=True)
    old = fields.Integer(required=True, metadata={"description": "比较的旧版本号"})
    new = fields.Integer(required=True, metadata={"description": "比较的新版本号"})
    added = fields.List(fields.Nested(ElementChangeSchema), required=True)
    removed = fields.List(fields.Nested(ElementChangeSchema), required=True)
    changed = fields.List(fields.Nested(ElementChangeSchema), required=True)
    forms_added = fields.List(fields.String(), required=True)
    forms_removed = fields.List(fields.String(), required=True)
    forms_changed = fields.List(fields.String(), required=True)


def _bpmn_url(key: str, version: int) -> str:
    return f"/api/v1/processes/{key}/versions/{version}/bpmn"


@blp.route("/processes")
@blp.response(200, ProcessSummarySchema(many=True))
def list_processes() -> Any:
    """Every deployed process: its Chinese name, latest version and when and by whom it was
    deployed, how many versions, and how many instances I may see run on each version."""
    with auth.reading() as (session, principal):
        found = catalog.processes(session, principal=principal)
    return [
        {
            "key": p.key,
            "name": p.name,
            "latest_version": p.latest.version,
            "deployed_at": p.latest.deployed_at,
            "deployed_by": p.latest.deployed_by,
            "deployed_by_name": p.latest.deployed_by_name,
            "version_count": len(p.versions),
            "running": p.running,
            "running_by_version": [
                {"version": v.version, "running": v.running} for v in p.versions
            ],
        }
        for p in found
    ]


@blp.route("/processes/<string:key>")
@blp.response(200, ProcessDetailSchema)
def get_process(key: str) -> Any:
    """One process: its versions with running and completed instance counts, the latest
    version's forms, and (for designers and administrators) its BPMN XML."""
    with auth.reading() as (session, principal):
        found = catalog.process(session, principal=principal, key=key)
        latest = catalog.version_row(session, key=key, version=found.latest.version)
        xml = latest.bpmn_xml if principal.role in catalog.XML_ROLES else None
        forms = catalog.forms_of(latest)
    return {
        "key": found.key,
        "name": found.name,
        "latest_version": found.latest.version,
        "versions": [{**asdict(v), "bpmn_url": _bpmn_url(key, v.version)} for v in found.versions],
        "forms": forms,
        "bpmn_xml": xml,
    }


@blp.route("/processes/<string:key>/versions/<int:version>/bpmn")
@blp.response(
    200,
    {"type": "string"},
    content_type="application/xml",
    description="BPMN 2.0 XML（含图形信息）",
)
def get_version_bpmn(key: str, version: int) -> Any:
    """The BPMN XML of one version, for the diagram viewer (a case shows the version it runs)."""
    with auth.reading() as (session, _principal):
        xml = catalog.version_row(session, key=key, version=version).bpmn_xml
    return Response(xml, status=200, mimetype="application/xml")


@blp.route("/processes/<string:key>/versions/<int:old>/diff/<int:new>")
@blp.response(200, VersionDiffSchema)
def get_version_diff(key: str, old: int, new: int) -> Any:
    """What changed between two versions of a process: elements added, removed and changed
    (type, name, lane, properties, conditions) and forms added, removed or changed
    (designers and administrators)."""
    with auth.reading() as (session, principal):
        found = diff.compare(session, principal=principal, key=key, old=old, new=new)
    return asdict(found)


@blp.route("/processes/validate", methods=["POST"])
@blp.doc(requestBody=_UPLOAD_BODY)
@blp.response(200, ValidationResultSchema)
def validate_definitions() -> Any:
    """Run every deployment check and lint on uploaded BPMN/DMN files (forms as deploying
    reads them: drafts first) and list the problems with file, element id and name, severity
    (error / warning) and a Chinese reason; nothing is stored (designers only)."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        access.check_may_deploy(principal)
        settings = deployment.limit_settings(session)
        designed = form_drafts.DesignedForms.read(session, forms_dir=rt.settings.forms_dir)
    files, _note, _confirm = _uploaded_files()
    checked = deployment.check(
        files,
        form_source=designed,
        max_bytes=rt.settings.max_definition_bytes,
        settings=settings,
    )
    return {
        "ok": not checked.errors,
        "errors": len(checked.errors),
        "warnings": len(checked.warnings),
        "problems": [p.as_dict() for p in checked.problems],
        # what deploying these files would store: nothing while an error refuses the upload
        "processes": []
        if checked.errors
        else [
            {"key": p.process_id, "name": p.info.name, "file": p.file.name}
            for p in checked.processes
        ],
        "decisions": []
        if checked.errors
        else [{"key": key, "file": source.name} for key, source in checked.decisions],
    }


class ExpressionCheckSchema(Schema):
    expression = fields.String(
        required=True,
        validate=validate.Length(max=20_000),
        metadata={"description": "要检查的表达式或脚本（空文本视为通过）"},
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(deployment.EXPRESSION_KINDS),
        metadata={"description": "condition（网关条件）、timer（定时器表达式）或 script（脚本）"},
    )


class ExpressionCheckedSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "求值器接受时为 true"})
    message = fields.String(required=True, metadata={"description": "中文说明：通过，或拒绝的原因"})


@blp.route("/processes/check-expression", methods=["POST"])
@blp.arguments(ExpressionCheckSchema)
@blp.response(200, ExpressionCheckedSchema)
def check_expression(args: dict[str, Any]) -> Any:
    """Check one condition, timer expression or script with the safe evaluator, as deploying
    would, for the editor's properties panel (checked as the designer types); the reason is
    in Chinese. Nothing is stored (designers only)."""
    with auth.reading() as (_session, principal):
        access.check_may_deploy(principal)
    reason = deployment.check_expression(args["kind"], args["expression"])
    if reason is None:
        return {"ok": True, "message": "表达式有效"}
    return {"ok": False, "message": reason}


@blp.route("/processes", methods=["POST"])
@blp.doc(requestBody=_UPLOAD_BODY)
@blp.response(201, DeployResultSchema)
def deploy_definitions() -> Any:
    """Validate and deploy BPMN/DMN files with a 版本说明 (`note`, 1-500 characters): each
    changed process or decision becomes a new immutable version storing the note and who
    deployed. Any error refuses the whole upload (422 with the problems); warnings refuse it
    (409 listing them) unless `confirm` is true; nothing is stored then. Running instances
    keep their version. User tasks' forms are read from their drafts (which the new versions
    pin and which are then deleted), else as last deployed, else from forms/ (designers
    only)."""
    rt = auth.runtime()
    with auth.reading() as (_session, principal):
        access.check_may_deploy(principal)
    # read before the write transaction: it holds SQLite's lock
    files, note, confirm = _uploaded_files()
    deployment.check_note(note)
    with auth.writing() as (session, principal):
        result = form_drafts.deploy_files(
            session,
            principal=principal,
            files=files,
            forms_dir=rt.settings.forms_dir,
            max_bytes=rt.settings.max_definition_bytes,
            clock=rt.clock,
            note=note or "",
            confirm=confirm,
        )
    return {
        "deployed": [{"key": k, "version": v} for k, v in result.deployed],
        "unchanged": [{"key": k, "version": v} for k, v in result.unchanged],
        "warnings": [p.as_dict() for p in result.warnings],
    }


def _uploaded_files() -> tuple[list[SourceFile], str | None, bool]:
    """The files of a multipart upload (field `files`) or of a JSON body, as SourceFiles,
    with the body's `note` and `confirm`; 422 for a body that is neither, or for a file that
    is not .bpmn/.dmn (named)."""
    limit = auth.runtime().settings.max_definition_bytes
    parser = blp.ARGUMENTS_PARSER
    named: list[tuple[str, bytes]] = []
    if request.mimetype == "multipart/form-data":
        args = parser.parse(DefinitionsUploadSchema(), location="files")
        extra = parser.parse(_UploadFieldsSchema(), location="form")
        args.update(note=extra["note"], confirm=extra["confirm"])
        for item in args["files"]:
            name = getattr(item, "filename", None) or ""
            # One byte past the cap is enough for the XML gate to refuse it by its size.
            named.append((name, item.stream.read(limit + 1)))
    else:
        args = parser.parse(DefinitionsJsonSchema(), location="json")
        named = [(f["name"], f["content"].encode("utf-8")) for f in args["files"]]
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    sources: list[SourceFile] = []
    for index, (name, data) in enumerate(named):
        base = PurePosixPath(name.replace("\\", "/")).name
        if not base.endswith(SUFFIXES) or base in SUFFIXES:
            errors.append(
                {
                    "field": f"files.{index}",
                    "message": t(
                        "%(name)s：只接受 .bpmn 或 .dmn 文件", name=name or t("（无文件名）")
                    ),
                }
            )
        elif base in seen:
            errors.append(
                {"field": f"files.{index}", "message": t("%(name)s：文件重复", name=base)}
            )
        else:
            seen.add(base)
            sources.append(SourceFile(base, data))
    if errors:
        raise ValidationFailed(t("只能上传 .bpmn 或 .dmn 文件，且文件名不重复"), errors)
    return sources, args.get("note"), bool(args.get("confirm"))


class _UploadFieldsSchema(Schema):
    class Meta:
        unknown = "exclude"

    note = fields.String(load_default=None)
    confirm = fields.Boolean(load_default=False)

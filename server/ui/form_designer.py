"""表单设计器: a user task's form edited in the browser (static/form-designer.js), with its
preview rendered by the task page's renderer (schema_form.py) and a 试填校验 that reads
and validates sample values as completing a task does.

The page opens the draft if there is one, else the deployed form. Saving, discarding and
deploying go through the API (/api/v1/forms/<stem>/…), which refuses anyone but a
designer; administrators may look.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.errors import said
from server.ui import form_errors, i18n, schema_form
from server.ui.common import bp
from workflows import access
from workflows.definitions import catalog, form_checks, form_drafts
from workflows.engine import form_messages
from workflows.errors import NotFound, ValidationFailed


def _field_types() -> list[tuple[str, str]]:
    """The field types the designer adds, as (type, label); static/form-designer.js builds
    each one's JSON Schema and UI schema."""
    return [
        ("text", _("单行文本")),
        ("textarea", _("多行文本")),
        ("date", _("日期")),
        ("number", _("数字")),
        ("integer", _("整数")),
        ("select", _("下拉选择")),
        ("radio", _("单选")),
        ("checkbox", _("复选框（是/否）")),
        ("grid", _("六要件表格（一行）")),
        ("document", _("文件引用（案件材料）")),
    ]


def _texts() -> dict[str, str]:
    """The script's messages, in the page's language."""
    return {
        "saved": _("第 {n} 稿，由 {who} 于 {when} 保存"),
        "no_draft": _("没有草稿：正在编辑已部署的表单"),
        "unsaved": _("有未保存的修改"),
        "saving": _("正在保存…"),
        "save_failed": _("未保存："),
        "discarded": _("草稿已放弃，已恢复为已部署的表单"),
        "discard_confirm": _("放弃草稿？已部署的表单不受影响。"),
        "conflict": _("未保存：{detail}"),
        "deploying": _("正在部署…"),
        "deployed": _("已部署"),
        "unchanged": _("内容未变，沿用"),
        "version": _("第 {n} 版"),
        "note_missing": _("请填写版本说明（1-500 字）。"),
        "confirm_needed": _("有 {n} 个警告，请确认后再部署。"),
        "failed": _("操作失败："),
        "logged_out": _("登录已失效，请重新登录后再试。"),
        "key_bad": _("字段键应以英文字母开头，只含字母、数字和下划线"),
        "key_taken": _("已有字段使用此键"),
        "new_field": _("新字段"),
        "up": _("上移"),
        "down": _("下移"),
        "remove": _("删除"),
        "edit": _("编辑"),
        "required": _("必填"),
        "other": _("其他（请在 JSON 中编辑）"),
        "option_value": _("取值（英文）"),
        "option_label": _("显示文字"),
        "add_option": _("添加选项"),
        "when_equals": _("当 {a} 为 {x} 时，{b} 必填"),
        "when_filled": _("填写了 {a} 时，{b} 也必填"),
        "rule_incomplete": _("请选择规则的字段和取值"),
        "json_bad": _("JSON 有误："),
        "json_applied": _("已按 JSON 更新字段列表"),
        "choose": _("（请选择）"),
        "fields_none": _("还没有字段：从下方添加。"),
        "rules_none": _("没有联动规则。"),
        "favourable": _("有利情形"),
        "unfavourable": _("不利情形"),
        "reason_title": _("研判理由标题"),
        "reason_min": _("研判理由最少字数"),
        "min_length": _("最少字数"),
        "max_length": _("最多字数"),
        "minimum": _("最小值"),
        "maximum": _("最大值"),
        "option_n": _("选项{n}"),
        "yes": _("是"),
        "no": _("否"),
    }


@bp.get("/forms/new")
def form_new() -> Any:
    """新建表单: a designer names a new form (`stem`) and opens it in the designer; a name
    that is not a lower-case identifier, or a form's that exists, is refused beside the field."""
    stem = request.args.get("stem", "").strip()[:200]
    with auth.reading() as (session, principal):
        access.check_may_deploy(principal)
        files = catalog.form_files(session, principal=principal)
        listed = form_drafts.list_forms(session, principal=principal)
    error = None
    try:
        form_checks.check_stem(stem)
    except ValidationFailed as err:
        error = err.errors[0]["message"]
    if error is None and stem in {f.stem for f in listed}:
        error = _("已有表单 %(stem)s：请在列表中点“设计”", stem=stem)
    if error is not None:
        return render_template(
            "forms.html",
            files=files,
            drafts={f.stem: f.draft for f in listed},
            undeployed=[f for f in listed if f.schema is None],
            may_design=True,
            new={"stem": stem, "error": error},
        ), 422
    return redirect(url_for("ui.form_design", stem=stem, new=1))


@bp.get("/forms/<string:stem>/design")
def form_design(stem: str) -> Any:
    """The form designer on the draft (or, without one, the deployed form); with `new`, a
    designer starts a form nobody has drafted or deployed (新建表单)."""
    with auth.reading() as (session, principal):
        may_edit = principal.role == "designer"
        try:
            found = form_drafts.get(session, principal=principal, stem=stem)
        except NotFound:
            if not (may_edit and request.args.get("new")):
                raise
            found = form_drafts.FormView(form_checks.check_stem(stem), "", None, None, (), None)
    draft = found.draft
    schema = draft.schema if draft else found.schema or {"type": "object", "properties": {}}
    ui = draft.uischema if draft else found.uischema or {}
    fields = schema_form.build(schema, ui, {})
    return render_template(
        "form_designer.html",
        form=found,
        schema=schema,
        uischema=ui,
        may_edit=may_edit,
        fields=fields,
        title=schema.get("title", ""),
        errors={},
        field_types=_field_types(),
        texts=_texts(),
    )


@bp.post("/forms/<string:stem>/design/preview")
def form_design_preview(stem: str) -> Any:
    """The preview of the form being designed (JSON body `schema`, `uischema`), as the task
    page renders it; with `check` the sample `values` (field path → text) are read and
    validated as completing a task would, each message beside its field. Nothing is stored."""
    form_errors.require_token()
    with auth.reading() as (_session, principal):
        catalog.check_may_read_sources(principal)
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    schema, ui = body.get("schema"), body.get("uischema", {})
    values = body.get("values")
    posted = {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}
    try:
        form_checks.check_form(schema, ui)
    except ValidationFailed as err:
        return render_template(
            "_form_preview.html",
            fields=[],
            title="",
            errors={e["field"]: said(e["message"]) for e in err.errors},
        ), 422
    assert isinstance(schema, dict) and isinstance(ui, dict)  # check_form saw to it
    checked = bool(body.get("check"))
    top: list[str] = []
    if checked:
        data, unreadable = schema_form.read(schema, ui, posted)
        named = {p["field"] for p in unreadable}
        today = auth.runtime().clock.today()
        worded = [
            p
            for p in form_messages.problems(schema, data, today=today, gettext=i18n.text)
            if p["field"] not in named
        ]
        fields = schema_form.build(schema, ui, posted)
        top = schema_form.attach(fields, unreadable + worded)
        ok = not unreadable and not worded
    else:
        fields, ok = schema_form.build(schema, ui, posted), True
    return render_template(
        "_form_preview.html",
        fields=fields,
        title=schema.get("title", ""),
        errors={},
        checked=checked,
        ok=ok,
        unplaced=top,
    ), (422 if checked and not ok else 200)

"""流程设计: the process list, the BPMN and DMN editors, and the deployed form files.

Designers edit here; administrators may look. The editors are bpmn-js and dmn-js
(static/modeler.js): they open the latest deployed version, and validate and deploy
through the API (/api/v1/processes/validate, /api/v1/processes), which refuses anyone
but a designer. Form files are shown as deployed (pinned in the latest versions), with
a preview of the form a clerk will see (the task page's renderer, schema_form.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth, inputs
from server.ui import i18n, schema_form
from server.ui.common import bp, is_htmx
from workflows.cases import tolerance
from workflows.definitions import catalog, deployment, diff, form_drafts
from workflows.engine import hooks
from workflows.roles import ROLES


def editor_settings() -> dict[str, Any]:
    """What static/editor-zh.js needs: whether the editors speak Chinese (English pages keep
    bpmn-js' and dmn-js' own texts), the roles' names for the lanes, and the Chinese labels
    of coded decision-table values — per column (the six elements' poles, DOMAIN.md §2.2)
    and for every column (the recommended opinions). Display only: the XML keeps the codes."""
    columns = {
        key: {"favourable": favourable, "unfavourable": unfavourable}
        for key, _name, favourable, unfavourable in tolerance.ELEMENTS
    }
    codes = {"favourable": "有利", "unfavourable": "不利", **tolerance.OUTCOME_NAMES}
    return {
        "chinese": i18n.current_locale() == i18n.DEFAULT,
        "roles": ROLES,
        "columns": columns,
        "codes": codes,
    }


@bp.get("/processes")
def processes() -> Any:
    """Deployed processes with their versions and the cases running on each; decision tables."""
    with auth.reading() as (session, principal):
        catalog.check_may_read_sources(principal)
        found = catalog.processes(session, principal=principal)
        tables = catalog.decisions(session, principal=principal)
        may_deploy = principal.role == "designer"
    names = {p.key: p.name for p in found}
    return render_template(
        "processes.html",
        processes=found,
        decisions=tables,
        names=names,
        may_deploy=may_deploy,
        may_read_sources=True,  # check_may_read_sources passed above
    )


@bp.get("/processes/<string:key>/diff")
def process_diff(key: str) -> Any:
    """What changed between two versions (query `old` and `new`; by default the latest
    version against the one before it)."""
    with auth.reading() as (session, principal):
        catalog.check_may_read_sources(principal)
        found = catalog.process(session, principal=principal, key=key)
        numbers = [v.version for v in found.versions]
        errors: dict[str, str] = {}
        chosen: dict[str, int] = {}
        defaults = {"new": numbers[0], "old": numbers[1] if len(numbers) > 1 else numbers[0]}
        for field in ("old", "new"):
            raw = request.args.get(field, "").strip()
            if not raw:
                chosen[field] = defaults[field]
            elif raw.isdigit() and int(raw) in numbers:
                chosen[field] = int(raw)
            else:
                errors[field] = _("请选择已部署的版本（第 1 至 %(n)d 版）", n=numbers[0])
                chosen[field] = defaults[field]
        result = (
            None
            if errors
            else diff.compare(
                session, principal=principal, key=key, old=chosen["old"], new=chosen["new"]
            )
        )
    return render_template(
        "process_diff.html",
        key=key,
        name=found.name,
        versions=found.versions,
        chosen=chosen,
        errors=errors,
        diff=result,
    ), (422 if errors else 200)


@bp.get("/processes/<string:key>/edit")
def process_edit(key: str) -> Any:
    """The BPMN editor on the latest deployed version of a process."""
    with auth.reading() as (session, principal):
        catalog.check_may_read_sources(principal)
        found = catalog.process(session, principal=principal, key=key)
        xml = catalog.version_row(session, key=key, version=found.latest.version).bpmn_xml
        may_deploy = principal.role == "designer"
        forms_dir = Path(auth.runtime().settings.forms_dir)
        names = form_drafts.DesignedForms.read(session, forms_dir=forms_dir).names()
        limited = sorted(
            element for process, element in deployment.limit_settings(session) if process == key
        )
    return render_template(
        "modeler.html",
        kind="bpmn",
        key=key,
        name=found.name,
        version=found.latest.version,
        file=f"{key}.bpmn",
        source=xml,
        companions=[],
        callers=[],
        may_deploy=may_deploy,
        editor={
            **editor_settings(),
            "panel": panel_settings(names, may_check=may_deploy),
            "lint": lint_settings(limited),
        },
    )


def lint_settings(limited: list[str]) -> dict[str, Any]:
    """What the editor's lint (panel/lint.js) needs to find what deploying finds: the role
    keys a user task's lane may name, and the steps whose 办理时限 administrators have set
    (`limited`: such a step has a time limit without one in the BPMN)."""
    return {"roles": list(ROLES), "limited": limited}


def panel_settings(names: list[str], *, may_check: bool) -> dict[str, Any]:
    """What the properties panel (panel/properties.js) needs: the roles in Chinese for the
    lanes, the form files a deployment finds (`names`: drafts, deployed forms, forms/), the
    registered actions (those deploying accepts: run at a task's completion, or when a
    script task or event is reached), whether and where expressions are checked as typed
    (designers only), and its texts."""
    return {
        "roles": ROLES,
        "forms": [n for n in names if n.endswith(".schema.json")],
        "ui_forms": [n for n in names if n.endswith(".uischema.json")],
        "actions": {
            "on_complete": sorted(hooks.REGISTRY.on_complete),
            "automatic": sorted(hooks.REGISTRY.automatic),
        },
        "may_check": may_check,
        "check_url": "/api/v1/processes/check-expression",
        "texts": {
            "group": _("办理设置"),
            "role": _("办理角色"),
            "choose": _("（请选择）"),
            "unknown_role": _("{name}（不是已知角色）"),
            "form": _("表单"),
            "no_form": _("（无表单）"),
            "missing_form": _("{name}（本系统中没有此表单）"),
            "ui_form": _("界面设置（UI Schema）"),
            "no_ui_form": _("（无界面设置，按表单结构显示）"),
            "time_limit": _("办理时限（如 5 workdays、30 个工作日、2 个月）"),
            "time_limit_bad": _("请填写“数字 + 单位”，单位为工作日、月或日，如 5 workdays"),
            "time_limit_from": _("时限起算（如 立案之日）"),
            "time_limit_policy": _("时限依据（引用的制度条款）"),
            "condition": _("条件表达式"),
            "timer_kind": _("定时类型"),
            "time_date": _("日期（timeDate）"),
            "time_duration": _("时长（timeDuration）"),
            "time_cycle": _("周期（timeCycle）"),
            "timer": _("定时表达式"),
            "check_failed": _("无法检查表达式："),
            "unknown_value": _("{name}（不是可选的值）"),
            "action": _("动作（办结或到达时运行的登记动作）"),
            "no_action": _("（无动作）"),
            "unknown_action": _("{name}（未登记的动作，部署时将被拒绝）"),
            "assignee_from": _("指定办理人（流程数据中存放用户名的字段，如 reviewer）"),
            "assignee_bad": _("请填写字段名：字母开头，只含字母、数字和下划线"),
            "capacity": _("办理身份（记入案件，用于回避）"),
            "capacity_default": _("（默认：经办）"),
            "capacity_handled": _("经办（handled）"),
            "capacity_decided": _("作出决定（decided）"),
            "reminder": _("临期提醒（到期前几个工作日）"),
            "reminder_bad": _("请填写 1 至 2500 之间的整数（工作日数）"),
            "time_limit_from_expr": _("时限起算日期（表达式，如 registered_on）"),
            "same_as": _("与此步骤同时到期（timeLimitSameAs）"),
            "not_set": _("（不设）"),
            "due_at": _("期限（日期表达式，如 deadline）"),
            "deadline_basis": _("期限说明（文本表达式，给办理人看）"),
            "script": _("脚本"),
        },
    }


@bp.get("/decisions/<string:key>/edit")
def decision_edit(key: str) -> Any:
    """The DMN editor on the latest deployed version of a decision table. Deploying sends
    the processes that call it along, so that their new versions pin the new table."""
    with auth.reading() as (session, principal):
        row = catalog.decision(session, principal=principal, key=key)
        callers = catalog.processes_calling(session, principal=principal, decision_key=key)
        companions = [{"name": f"{p.process_key}.bpmn", "content": p.bpmn_xml} for p in callers]
        named = {d.key: d.name for d in catalog.decisions(session, principal=principal)}
        may_deploy = principal.role == "designer"
    return render_template(
        "modeler.html",
        kind="dmn",
        key=key,
        name=named.get(key, key),
        version=row.version,
        file=row.source_file,
        source=row.dmn_xml,
        companions=companions,
        callers=[(p.process_key, p.name) for p in callers],
        may_deploy=may_deploy,
        editor=editor_settings(),
    )


@bp.get("/forms")
def forms() -> Any:
    """The form files of the latest deployed versions, with the processes using them, the
    drafts saved in the form designer (and those of forms not yet deployed), 新建表单."""
    with auth.reading() as (session, principal):
        files = catalog.form_files(session, principal=principal)
        listed = form_drafts.list_forms(session, principal=principal)
        may_design = principal.role == "designer"
    return render_template(
        "forms.html",
        files=files,
        drafts={f.stem: f.draft for f in listed},
        undeployed=[f for f in listed if f.schema is None],
        may_design=may_design,
        new={},
    )


def _pair_of(name: str) -> tuple[str, str]:
    """The schema and UI schema file names of the form `name` belongs to."""
    stem = name.removesuffix(".uischema.json").removesuffix(".schema.json")
    return f"{stem}.schema.json", f"{stem}.uischema.json"


def _parse(text: str, label: str) -> tuple[Any, str | None]:
    if inputs.too_deep(text):  # the parser and the preview recurse once per level
        return None, _("%(label)s嵌套超过 %(limit)d 层", label=label, limit=inputs.MAX_JSON_DEPTH)
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        return None, _(
            "%(label)s不是有效的 JSON：第 %(line)d 行第 %(col)d 列：%(reason)s",
            label=label,
            line=err.lineno,
            col=err.colno,
            reason=err.msg,
        )
    if not isinstance(value, dict):
        return None, _("%(label)s应为 JSON 对象", label=label)
    return value, None


@bp.route("/forms/<string:name>", methods=["GET", "POST"])
def form_file(name: str) -> Any:
    """One form file as deployed, and the form rendered from it. Posting edited JSON shows
    the preview of the edit (nothing is stored: forms are deployed with their process)."""
    schema_name, ui_name = _pair_of(name)
    with auth.reading() as (session, principal):
        shown = catalog.form_file(session, principal=principal, name=name)
        files = {f.name: f for f in catalog.form_files(session, principal=principal)}
    deployed = {
        key: json.dumps(files[key].content, ensure_ascii=False, indent=2) if key in files else ""
        for key in (schema_name, ui_name)
    }
    texts = dict(deployed)
    errors: dict[str, str] = {}
    if request.method == "POST":
        texts = {
            schema_name: request.form.get("schema", "")[:200_000],
            ui_name: request.form.get("uischema", "")[:200_000],
        }
    schema, problem = _parse(texts[schema_name], _("表单结构（JSON Schema）"))
    if problem:
        errors["schema"] = problem
    ui, problem = _parse(texts[ui_name], _("界面设置（UI Schema）"))
    if problem:
        errors["uischema"] = problem
    preview = schema_form.build(schema or {}, ui or {}, {}) if not errors else []
    title = (schema or {}).get("title", "") if isinstance(schema, dict) else ""
    status = 422 if errors else 200
    if is_htmx() and request.method == "POST":
        return render_template(
            "_form_preview.html", fields=preview, title=title, errors=errors, oob_errors=True
        ), status
    return render_template(
        "form_file.html",
        name=name,
        shown=shown,
        schema_name=schema_name,
        ui_name=ui_name,
        texts=texts,
        edited=texts != deployed,
        fields=preview,
        title=title,
        errors=errors,
        action=url_for("ui.form_file", name=name),
    ), status

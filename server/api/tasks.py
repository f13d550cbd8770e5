"""待办任务 (/api/v1/tasks): queues, one task with its form, completing it.

Claim, unclaim, delegate, transfer, urge and comments live in tasks_actions.py."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint, PageArgs, PageSchema, page_body
from workflows.roles import ROLES
from workflows.tasks import completion, queues
from workflows.tasks.details import task_detail

blp = Blueprint("tasks", __name__, description="待办任务：队列、表单、办理、认领、委派、转办、催办、评论")


class TaskListArgs(PageArgs):
    queue = fields.String(load_default="role", validate=validate.OneOf(queues.QUEUES),
                          metadata={"description": "mine 指派给我的；role 本岗位（本单位本角色）的；done 我办结的"})
    process = fields.String(validate=validate.Length(max=200), metadata={"description": "流程键，如 accountability"})
    due_before = fields.Date(metadata={"description": "只看此日期之前到期的"})
    overdue = fields.Boolean(metadata={"description": "true 只看逾期；false 只看未逾期"})
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "案件编号、当事人或任务名称"})


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "任务名称（中文）"})
    element = fields.String(required=True, attribute="task_spec", metadata={"description": "BPMN 元素 id"})
    process = fields.String(required=True, attribute="process_key")
    role = fields.String(allow_none=True)
    role_name = fields.String(allow_none=True)
    org_unit = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    owner = fields.String(allow_none=True, metadata={"description": "委派人（委派时）"})
    state = fields.String(required=True, metadata={"description": "open / completed / cancelled"})
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    due_basis = fields.String(allow_none=True, metadata={"description": "期限如何算出"})
    overdue = fields.Boolean(required=True)
    due_soon = fields.Boolean(required=True, metadata={"description": "3 个工作日内到期"})
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    subject_name = fields.String(allow_none=True, metadata={"description": "当事干部（或被查处的诬告人）"})
    case_title = fields.String(allow_none=True)


class TaskPageSchema(PageSchema):
    items = fields.List(fields.Nested(TaskSchema), required=True)


class TaskDetailSchema(TaskSchema):
    form = fields.String(allow_none=True)
    form_schema = fields.Dict(allow_none=True, metadata={"description": "表单的 JSON Schema"})
    ui_schema = fields.Dict(allow_none=True, metadata={"description": "表单的界面描述"})
    data = fields.Dict(required=True, metadata={"description": "当前数据（用于预填表单）"})
    may_complete = fields.Boolean(required=True)
    why_not = fields.String(allow_none=True, metadata={"description": "不能办理的原因"})
    documentation = fields.String(allow_none=True)
    recorded = fields.List(fields.Nested(lambda: RecordedStepSchema()), required=True,
                           metadata={"description": "办理记录：本案此前各步骤表单的填写内容（按表单标题，选项显示其名称）"})


class RecordedEntrySchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "表单中的标题"})
    text = fields.String(required=True, metadata={"description": "填写内容（选项为其名称，是/否）"})


class RecordedStepSchema(Schema):
    task_name = fields.String(required=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    entries = fields.List(fields.Nested(RecordedEntrySchema), required=True)


class CompleteArgs(Schema):
    data = fields.Dict(required=True, metadata={"description": "按表单 JSON Schema 填写的数据"})


class CompletedSchema(Schema):
    id = fields.Integer(required=True)
    completed_at = fields.DateTime(required=True)
    completed_by = fields.String(required=True)
    instance_status = fields.String(required=True)
    case_id = fields.Integer(allow_none=True)
    next_tasks = fields.List(fields.Nested(TaskSchema), required=True,
                             metadata={"description": "本案件接下来的、我能看到的待办"})


def task_item(task: Any, *, now: Any, soon: Any, **case: Any) -> dict[str, Any]:
    """A task as the API shows it, from a HumanTask or a human_task row (shared by queues,
    case pages and supervision)."""
    flags = (queues.marks(task.due_at, now=now, soon=soon) if task.state == "open"
             else {"overdue": False, "due_soon": False})
    return {**{c: getattr(task, c) for c in _COLUMNS}, "role_name": ROLES.get(task.role or "", task.role),
            **flags, **case}


_COLUMNS = ("id", "name", "task_spec", "process_key", "role", "org_unit", "assignee", "owner", "state",
            "created_at", "due_at", "due_basis", "completed_at", "completed_by")


@blp.route("/tasks")
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(args: dict[str, Any]) -> Any:
    """My queues, sorted by due date (earliest first, undated last); done by completion, newest first."""
    rt = auth.runtime()
    filters = queues.Filters(queue=args["queue"], process=args.get("process"),
                             due_before=args.get("due_before"), overdue=args.get("overdue"),
                             text=args.get("q"))
    page, per_page = args["page"], args["per_page"]
    with auth.reading() as (session, principal):
        now = rt.clock.now()
        rows, total = queues.page(session, principal, filters, now=now, page=page, per_page=per_page)
        soon = queues.due_soon_limit(session, rt.clock) if any(r.due_at is not None for r in rows) else now
        items = [task_item(row, now=now, soon=soon, case_id=row.case_id, case_number=row.case_number,
                           subject_name=row.subject_name, case_title=row.case_title) for row in rows]
    return page_body(items, page=page, per_page=per_page, total=total)


@blp.route("/tasks/<int:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id: int) -> Any:
    """One task: its form (JSON Schema + UI schema), current data, due date and how it was computed,
    and whether I may complete it."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        now = rt.clock.now()
        detail = task_detail(session, principal=principal, task_id=task_id)
        soon = queues.due_soon_limit(session, rt.clock)
        case = detail.case
        return {**task_item(detail.task, now=now, soon=soon, case_id=case.id if case else None,
                            case_number=case.number if case else None,
                            subject_name=case.subject_name if case else None,
                            case_title=case.title if case else None),
                "form": detail.task.form, "form_schema": detail.form_schema, "ui_schema": detail.ui_schema,
                "data": detail.data, "may_complete": detail.may_complete, "why_not": detail.why_not,
                "documentation": detail.properties.get("documentation"), "recorded": detail.recorded}


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteArgs)
@blp.response(200, CompletedSchema)
def complete_task(args: dict[str, Any], task_id: int) -> Any:
    """Complete the task with form data: validated against its form (422 names each field),
    authorized by role, org unit, assignee and recusal; of two racers exactly one wins (409)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        result = completion.complete(session, principal=principal, task_id=task_id, data=args["data"],
                                     clock=rt.clock)
        # Reads only from here: the completion is the transaction's last change.
        next_tasks: list[dict[str, Any]] = []
        if result.next_tasks:
            now = rt.clock.now()
            soon = (queues.due_soon_limit(session, rt.clock)
                    if any(t.due_at is not None for t in result.next_tasks) else now)
            next_tasks = [task_item(t, now=now, soon=soon, case_id=result.case_id) for t in result.next_tasks]
    done = result.done
    return {"id": done.id, "completed_at": done.completed_at, "completed_by": done.completed_by,
            "instance_status": done.instance_status, "case_id": result.case_id, "next_tasks": next_tasks}

"""待办任务 (/api/v1/tasks): queues, one task with its form, completing it.

Claim, unclaim, delegate, transfer, urge and comments live in tasks_actions.py."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint, PageArgs, PageSchema, person_name
from server.api.consultation_schemas import ConsultationSchema, CopySchema
from server.api.dumping import FastSchema
from workflows.tasks import colleagues, completion, copies, queues, views

blp = Blueprint(
    "tasks", __name__, description="待办任务：队列、表单、办理、认领、委派、转办、催办、评论"
)


class TaskListArgs(PageArgs):
    queue = fields.String(
        load_default="role",
        validate=validate.OneOf(queues.QUEUES),
        metadata={"description": "mine 指派给我的；role 本岗位（本单位本角色）的；done 我办结的"},
    )
    process = fields.String(
        validate=validate.Length(max=200), metadata={"description": "流程键，如 accountability"}
    )
    due_before = fields.Date(metadata={"description": "只看此日期之前到期的"})
    overdue = fields.Boolean(metadata={"description": "true 只看逾期；false 只看未逾期"})
    q = fields.String(
        validate=validate.Length(max=100), metadata={"description": "案件编号、当事人或任务名称"}
    )


class TaskSchema(FastSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "任务名称（中文）"})
    element = fields.String(
        required=True, attribute="task_spec", metadata={"description": "BPMN 元素 id"}
    )
    process = fields.String(required=True, attribute="process_key")
    process_name = fields.String(
        allow_none=True,
        metadata={"description": "流程名称（最新版本的名称；办理后返回的下一步待办不含）"},
    )
    role = fields.String(allow_none=True)
    role_name = fields.String(allow_none=True)
    org_unit = fields.String(allow_none=True)
    org_unit_name = fields.String(
        allow_none=True, metadata={"description": "单位名称（办理后返回的下一步待办不含）"}
    )
    assignee = fields.String(allow_none=True, metadata={"description": "办理人的用户名"})
    assignee_name = person_name("办理人")
    owner = fields.String(allow_none=True, metadata={"description": "委派人的用户名（委派时）"})
    owner_name = person_name("委派人")
    state = fields.String(required=True, metadata={"description": "open / completed / cancelled"})
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    due_basis = fields.String(allow_none=True, metadata={"description": "期限如何算出"})
    remind_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "临期提醒将于此时发出；已发出或未设提醒为 null"},
    )
    overdue = fields.Boolean(required=True)
    due_soon = fields.Boolean(required=True, metadata={"description": "3 个工作日内到期"})
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_by_name = person_name("办结人")
    case_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    subject_name = fields.String(
        allow_none=True, metadata={"description": "当事干部（或被查处的诬告人）"}
    )
    case_title = fields.String(allow_none=True)
    actions = fields.List(
        fields.String(validate=validate.OneOf(views.ACTIONS)),
        required=True,
        metadata={
            "description": "我现在可以做的：claim 认领、unclaim 取消认领、delegate 委派、transfer 转办、"
            "complete 办理、consult 加签、copy 抄送、urge 催办、escalate 督办上报、comment 评论（与办理时的规则一致）"
        },
    )


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
    return_targets = fields.List(
        fields.Nested(lambda: DetailReturnTargetSchema()),
        required=True,
        metadata={"description": "退回：可退回到的、本案已经办理过的步骤（不能办理本任务时为空）"},
    )
    may_withdraw = fields.Boolean(
        required=True, metadata={"description": "撤回：我办结的这一步现在能否撤回"}
    )
    withdraw_refusal = fields.String(
        allow_none=True, metadata={"description": "不能撤回的原因（已办结的任务）"}
    )
    reopened_by = fields.Nested(
        lambda: ReopenedBySchema(),
        allow_none=True,
        metadata={"description": "本步骤因退回或撤回而重新打开时：谁、何时、理由"},
    )
    recorded = fields.List(
        fields.Nested(lambda: RecordedStepSchema()),
        required=True,
        metadata={
            "description": "办理记录：本案此前各步骤表单的填写内容（按表单标题，选项显示其名称）"
        },
    )
    consultations = fields.List(
        fields.Nested(ConsultationSchema),
        required=True,
        metadata={"description": "加签：本步骤的征求意见及各人意见（先后为序）"},
    )
    copies = fields.List(
        fields.Nested(CopySchema),
        required=True,
        metadata={"description": "抄送：本步骤抄送了谁、说明（先后为序）"},
    )


class ReopenedBySchema(Schema):
    kind = fields.String(
        required=True, metadata={"description": "return（退回）或 withdraw（撤回）"}
    )
    label = fields.String(required=True, metadata={"description": "退回 或 撤回"})
    actor = fields.String(required=True, metadata={"description": "谁退回/撤回的（用户名）"})
    actor_name = person_name("退回/撤回人")
    at = fields.DateTime(required=True)
    reason = fields.String(required=True)
    entered = fields.Dict(
        allow_none=True,
        metadata={"description": "此前办理时填写的表单数据（页面上作为草稿预填）"},
    )


class DetailReturnTargetSchema(Schema):
    step = fields.String(required=True, metadata={"description": "退回时填写的步骤（元素 id）"})
    name = fields.String(required=True)
    completed_by = fields.String(allow_none=True)
    completed_by_name = person_name("此前的办理人")
    refusal = fields.String(
        allow_none=True, metadata={"description": "不能退回的原因；null 可退回"}
    )


class RecordedEntrySchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "表单中的标题"})
    text = fields.String(required=True, metadata={"description": "填写内容（选项为其名称，是/否）"})


class RecordedStepSchema(Schema):
    task_name = fields.String(required=True)
    completed_by = fields.String(allow_none=True)
    completed_by_name = person_name("办理人")
    completed_at = fields.DateTime(allow_none=True)
    entries = fields.List(fields.Nested(RecordedEntrySchema), required=True)


class CopyToArgs(Schema):
    """办理时一并抄送."""

    users = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=colleagues.USERS_MAX),
        metadata={
            "description": f"抄送的用户名（1–{colleagues.USERS_MAX} 人），"
            "从 GET /tasks/{task_id}/colleagues 的名单中选"
        },
    )
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=copies.NOTE_MAX),
        metadata={"description": "抄送说明"},
    )


class CompleteArgs(Schema):
    data = fields.Dict(required=True, metadata={"description": "按表单 JSON Schema 填写的数据"})
    copy_to = fields.Nested(
        CopyToArgs,
        load_default=None,
        metadata={
            "description": "可选：办理时一并抄送（与 POST /tasks/{task_id}/copies 相同的规则）；"
            "抄送或办理任一被拒绝，两者都不生效"
        },
    )


class CompletedSchema(FastSchema):
    id = fields.Integer(required=True)
    completed_at = fields.DateTime(required=True)
    completed_by = fields.String(required=True)
    completed_by_name = person_name("办理人")
    instance_status = fields.String(required=True)
    case_id = fields.Integer(allow_none=True)
    next_tasks = fields.List(
        fields.Nested(TaskSchema),
        required=True,
        metadata={"description": "本案件接下来的、我能看到的待办"},
    )


@blp.route("/tasks")
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(args: dict[str, Any]) -> Any:
    """My queues, sorted by due date (earliest first, undated last); done by completion, newest first."""
    rt = auth.runtime()
    filters = queues.Filters(
        queue=args["queue"],
        process=args.get("process"),
        due_before=args.get("due_before"),
        overdue=args.get("overdue"),
        text=args.get("q"),
    )
    with auth.reading() as (session, principal):
        return views.queue_page(
            session,
            principal,
            filters,
            clock=rt.clock,
            page=args["page"],
            per_page=args["per_page"],
        )


@blp.route("/tasks/<int:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id: int) -> Any:
    """One task: its form (JSON Schema + UI schema), current data, due date and how it was computed,
    and whether I may complete it."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        return views.task_detail(session, principal, task_id, clock=rt.clock)


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteArgs)
@blp.response(200, CompletedSchema)
def complete_task(args: dict[str, Any], task_id: int) -> Any:
    """Complete the task with form data: validated against its form (422 names each field),
    authorized by role, org unit, assignee and recusal; of two racers exactly one wins (409).
    Refused (409) while a request for opinions (加签) is open, naming whose are missing.
    `copy_to` copies (抄送) colleagues in the same transaction."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        if args["copy_to"] is not None:  # the holder copies while still holding the step
            copies.copy(
                session,
                principal=principal,
                task_id=task_id,
                users=args["copy_to"]["users"],
                note=args["copy_to"]["note"],
                clock=rt.clock,
            )
        result = completion.complete(
            session, principal=principal, task_id=task_id, data=args["data"], clock=rt.clock
        )
        # Reads only from here: the completion is the transaction's last change.
        return views.completed(session, principal, result, clock=rt.clock)

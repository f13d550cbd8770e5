"""督查 (/api/v1/supervision): deadlines across the units a supervisor sees.

Supervisors and administrators only (403 for everyone else); the scope is the caller's
own unit and the units below it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint, PageArgs, PageSchema, person_name
from workflows.roles import ROLES
from workflows.supervision import views as supervision

blp = Blueprint("supervision", __name__, description="督查：逾期与汇总")


class CountsSchema(Schema):
    key = fields.String(required=True, metadata={"description": "单位代码、流程键或角色代码"})
    name = fields.String(required=True)
    open = fields.Integer(required=True, metadata={"description": "待办"})
    due_soon = fields.Integer(required=True, metadata={"description": "3 个工作日内到期"})
    overdue = fields.Integer(required=True, metadata={"description": "已逾期（含督办中的案件）"})


class OverdueTaskSchema(Schema):
    task_id = fields.Integer(required=True)
    task = fields.String(required=True, metadata={"description": "任务名称"})
    element = fields.String(required=True, metadata={"description": "BPMN 元素 id"})
    escalation = fields.Boolean(
        required=True,
        metadata={
            "description": "旧版本流程的督办任务（新版本中逾期步骤始终留在办理人处，无此类任务）"
        },
    )
    process = fields.String(required=True)
    process_name = fields.String(required=True)
    role = fields.String(allow_none=True)
    role_name = fields.String(allow_none=True)
    org_unit = fields.String(allow_none=True)
    org_unit_name = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    overdue_since = fields.DateTime(
        required=True, metadata={"description": "到期时间；督办任务为转交督查的时间"}
    )
    days_overdue = fields.Integer(
        required=True, metadata={"description": "逾期天数（不足一天按一天）"}
    )
    workdays_overdue = fields.Integer(
        required=True,
        metadata={"description": "逾期工作日数：自原办理期限起算，跳过节假日、计入调休上班日"},
    )
    due_basis = fields.String(
        allow_none=True, metadata={"description": "期限依据，如 立案之日 2026-03-02 起30个工作日"}
    )
    assignee_name = person_name("办理人")
    supervision_due_at = fields.DateTime(
        allow_none=True, metadata={"description": "督办期限（督办上报时设定）"}
    )
    supervision_overdue = fields.Boolean(
        required=True, metadata={"description": "督办期限也已届满"}
    )
    case_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    cadre_id = fields.Integer(allow_none=True)
    subject_name = fields.String(allow_none=True, metadata={"description": "当事干部"})
    urge_count = fields.Integer(required=True, metadata={"description": "催办次数（含督办上报）"})
    escalations = fields.Integer(required=True, metadata={"description": "其中督办上报次数"})
    last_urged_at = fields.DateTime(allow_none=True)
    last_urged_by = fields.String(allow_none=True)
    last_urged_by_name = person_name("最近催办人")
    actions = fields.List(
        fields.String(validate=validate.OneOf(["urge", "escalate"])),
        required=True,
        metadata={"description": "我现在可以做的：urge 催办、escalate 督办上报"},
    )


class AgingBucketSchema(Schema):
    key = fields.String(required=True, metadata={"description": "1-3, 4-7, 8-15, 16-30, 31-"})
    low = fields.Integer(required=True, metadata={"description": "逾期天数下限（含）"})
    high = fields.Integer(
        allow_none=True, metadata={"description": "逾期天数上限（含）；无上限为空"}
    )
    name = fields.String(required=True)
    overdue = fields.Integer(required=True, metadata={"description": "件数"})


class SummarySchema(Schema):
    now = fields.DateTime(required=True)
    due_soon_before = fields.DateTime(
        required=True, metadata={"description": "此刻之前到期即为临期"}
    )
    total = fields.Nested(CountsSchema, required=True)
    by_org_unit = fields.List(fields.Nested(CountsSchema), required=True)
    by_process = fields.List(fields.Nested(CountsSchema), required=True)
    by_role = fields.List(fields.Nested(CountsSchema), required=True)
    oldest_overdue = fields.List(
        fields.Nested(OverdueTaskSchema),
        required=True,
        metadata={"description": f"逾期最久的 {supervision.OLDEST} 项"},
    )
    aging = fields.List(
        fields.Nested(AgingBucketSchema),
        required=True,
        metadata={"description": "逾期时长分布：逾期 1–3、4–7、8–15、16–30、30 天以上的件数"},
    )


class OverdueArgs(PageArgs):
    org_unit = fields.String(
        validate=validate.Length(min=1, max=50),
        metadata={"description": "单位代码：该单位及其下级"},
    )
    process = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "流程键"}
    )
    role = fields.String(validate=validate.OneOf(list(ROLES)), metadata={"description": "角色代码"})


class OverduePageSchema(PageSchema):
    items = fields.List(fields.Nested(OverdueTaskSchema), required=True)


@blp.route("/supervision/summary")
@blp.response(200, SummarySchema)
def get_summary() -> Any:
    """Open tasks in my units counted by org unit, process and role: open, due within
    3 working days, overdue (escalated cases included); the 10 oldest overdue; and how
    many overdue fall in each bucket of days overdue (aging)."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        return supervision.summary(session, principal=principal, clock=rt.clock)


@blp.route("/supervision/overdue")
@blp.arguments(OverdueArgs, location="query")
@blp.response(200, OverduePageSchema)
def list_overdue(args: dict[str, Any]) -> Any:
    """Overdue tasks and open escalations (督办) in my units, oldest first, with case, cadre,
    unit, assignee, days overdue and urges (催办)."""
    rt = auth.runtime()
    filters = supervision.Filters(
        org_unit=args.get("org_unit"), process=args.get("process"), role=args.get("role")
    )
    with auth.reading() as (session, principal):
        return supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=filters,
            page=args["page"],
            per_page=args["per_page"],
        )

"""退回 (send a case back to an earlier step) and 撤回 (take a completed step back).

Routes on the tasks blueprint; the rules are the domain's (workflows/tasks/going_back.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from server import auth
from server.api.common import person_name
from server.api.tasks import TaskSchema, blp
from workflows.access import Principal
from workflows.engine.clock import Clock
from workflows.tasks import going_back, views

_REASON = fields.String(
    required=True,
    validate=validate.Length(min=1, max=going_back.REASON_MAX),
    metadata={"description": "理由（必填，显示在重新打开的步骤上）"},
)


class ReturnArgs(Schema):
    to_step = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "退回到哪个步骤：return-targets 列出的 step（流程图中的元素 id，"
            "如 investigate）"
        },
    )
    reason = _REASON


class TaskWithdrawArgs(Schema):
    reason = _REASON


class ReturnTargetSchema(Schema):
    step = fields.String(required=True, metadata={"description": "步骤（元素 id），退回时填写"})
    name = fields.String(required=True, metadata={"description": "步骤名称"})
    task_id = fields.Integer(required=True, metadata={"description": "该步骤此前办结的任务"})
    completed_by = fields.String(allow_none=True, metadata={"description": "此前的办理人"})
    completed_by_name = person_name("此前的办理人")
    completed_at = fields.DateTime(allow_none=True)
    allowed = fields.Boolean(required=True, metadata={"description": "现在能否退回到此步骤"})
    refusal = fields.String(
        allow_none=True, metadata={"description": "不能退回的原因（如决定已送达）"}
    )


class WentBackSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "退回/撤回记录"})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(going_back.KINDS)),
        metadata={"description": "return（退回）或 withdraw（撤回）"},
    )
    reason = fields.String(required=True)
    at = fields.DateTime(required=True)
    reopened = fields.Nested(
        TaskSchema,
        required=True,
        metadata={"description": "重新打开的步骤（新的任务，重新计算办理时限）"},
    )
    cancelled = fields.List(
        fields.Integer(), required=True, metadata={"description": "因此取消的待办任务"}
    )
    superseded = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "被作废（不再有效，但保留）的记录，如 decision#3"},
    )
    restored = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "恢复为此前取值的记录，如 case_file#1（案件状态）"},
    )


def _went_back(
    session: Session, principal: Principal, clock: Clock, went: going_back.WentBack
) -> dict[str, Any]:
    [reopened] = views.task_views(session, principal, [went.reopened.id], clock=clock)
    return {
        "id": went.going_back.id,
        "kind": went.going_back.kind,
        "reason": went.going_back.reason,
        "at": went.going_back.at,
        "reopened": reopened,
        "cancelled": went.cancelled,
        "superseded": [f"{table}#{rid}" for table, rid in went.superseded],
        "restored": [f"{table}#{rid}" for table, rid in went.restored],
    }


@blp.route("/tasks/<int:task_id>/return-targets")
@blp.response(200, ReturnTargetSchema(many=True))
def list_return_targets(task_id: int) -> Any:
    """The steps this open task may be sent back to (退回): the steps this case actually passed
    through on its way here, nearest first, each saying whether it is allowed now and why not.
    Empty when I may not complete the task."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        targets = going_back.return_targets(
            session, principal=principal, task_id=task_id, clock=rt.clock
        )
        return [{**t.__dict__, "allowed": t.refusal is None} for t in targets]


@blp.route("/tasks/<int:task_id>/return", methods=["POST"])
@blp.arguments(ReturnArgs)
@blp.response(200, WentBackSchema)
def return_task(args: dict[str, Any], task_id: int) -> Any:
    """退回: send the case back from this open task to `to_step`, with a reason. The task (and
    any parallel step past the target) is cancelled; the target opens again for whoever
    completed it before (their role's queue if they can no longer act), with the reason and
    their data as a draft; records the undone steps wrote are superseded, not deleted.
    422 names `reason` or `to_step` (with the steps offered); 409 after 送达 or across
    another case; 409 if the task was completed meanwhile."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        went = going_back.send_back(
            session,
            principal=principal,
            task_id=task_id,
            to_step=args["to_step"],
            reason=args["reason"],
            clock=rt.clock,
        )
        return _went_back(session, principal, rt.clock, went)


@blp.route("/tasks/<int:task_id>/withdraw", methods=["POST"])
@blp.arguments(TaskWithdrawArgs)
@blp.response(200, WentBackSchema)
def withdraw_task(args: dict[str, Any], task_id: int) -> Any:
    """撤回: take back a step I completed (`task_id` is the completed task), as long as nobody
    has claimed, saved a draft of or completed a step that followed; it opens again for me
    with my data as a draft. 403 for someone else's step, 409 once the next step was taken
    up, after 送达 or across another case."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        went = going_back.withdraw(
            session, principal=principal, task_id=task_id, reason=args["reason"], clock=rt.clock
        )
        return _went_back(session, principal, rt.clock, went)

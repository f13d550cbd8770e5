"""Work on a task besides completing it: claim, unclaim, delegate, transfer, urge (催办),
escalate (督办上报), comments.

Routes on the tasks blueprint; the rules are the domain's (workflows/tasks/service.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from server import auth
from server.api.common import PersonSchema, person_name
from server.api.tasks import TaskSchema, blp
from workflows.access import Principal
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask
from workflows.tasks import candidates, views
from workflows.tasks import service as work
from workflows.tasks.models import URGE_KINDS


class TaskTargetArgs(Schema):
    username = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "接手人的用户名（同一单位、同一角色）：从 GET /tasks/{id}/candidates 中选取"
        },
    )


class CandidatesArgs(Schema):
    purpose = fields.String(
        required=True,
        metadata={
            "description": "delegate 委派、transfer 转办，或 reviewer 指定复核人（申诉的受理步骤）"
        },
    )
    q = fields.String(
        validate=validate.Length(max=100), metadata={"description": "按姓名或用户名筛选"}
    )


class TaskUrgeArgs(Schema):
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=work.NOTE_MAX),
        metadata={"description": "催办说明"},
    )


class TaskEscalateArgs(Schema):
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=work.NOTE_MAX - len(work.ESCALATION_MARK)),
        metadata={"description": "督办说明"},
    )
    until = fields.Date(
        load_default=None,
        metadata={
            "description": "督办期限（可选，YYYY-MM-DD，不早于今天）：与原办理期限并列显示，届时仍未办结再提醒"
        },
    )


class TaskEscalationSchema(Schema):
    urge = fields.Nested(
        lambda: TaskUrgeSchema(),
        required=True,
        metadata={"description": "记为 kind=escalation 的催办，说明以【督办上报】开头"},
    )
    notified = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "被通知的用户：办理人（或可认领者）、本单位党委(党组)、上一级督查人员"
        },
    )
    supervision_due_at = fields.DateTime(
        allow_none=True, metadata={"description": "督办期限届满时刻（所填日期结束时）；未设为 null"}
    )


class TaskCommentArgs(Schema):
    body = fields.String(
        required=True,
        validate=validate.Length(min=1, max=work.COMMENT_MAX),
        metadata={"description": "评论内容"},
    )


class TaskCommentSchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    author = fields.String(required=True, metadata={"description": "作者的用户名"})
    author_name = person_name("作者")
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class TaskUrgeSchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    urged_by = fields.String(required=True, metadata={"description": "催办人的用户名"})
    urged_by_name = person_name("催办人")
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(URGE_KINDS),
        metadata={"description": "urge（催办）或 escalation（督办上报）"},
    )


def _shown(session: Session, principal: Principal, clock: Clock, task: HumanTask) -> views.TaskView:
    """The task after the change, as its queue shows it (in the change's transaction)."""
    [view] = views.task_views(session, principal, [task.id], clock=clock)
    return view


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
def claim_task(task_id: int) -> Any:
    """Claim (认领) an open task of my role and org unit: it leaves the shared queue for mine.
    409 names who holds it if someone else does."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        task = work.claim(session, principal=principal, task_id=task_id, clock=rt.clock)
        return _shown(session, principal, rt.clock, task)


@blp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
def unclaim_task(task_id: int) -> Any:
    """Release (取消认领) a task I hold, or one I delegated: it returns to the role's shared queue."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        task = work.unclaim(session, principal=principal, task_id=task_id, clock=rt.clock)
        return _shown(session, principal, rt.clock, task)


@blp.route("/tasks/<int:task_id>/delegate", methods=["POST"])
@blp.arguments(TaskTargetArgs)
@blp.response(200, TaskSchema)
def delegate_task(args: dict[str, Any], task_id: int) -> Any:
    """Delegate (委派) a task to a colleague of the same role and org unit; I stay its owner and
    may take it back. The colleague is notified; 422 on `username` says why one is not eligible."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        task = work.delegate(
            session, principal=principal, task_id=task_id, username=args["username"], clock=rt.clock
        )
        return _shown(session, principal, rt.clock, task)


@blp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@blp.arguments(TaskTargetArgs)
@blp.response(200, TaskSchema)
def transfer_task(args: dict[str, Any], task_id: int) -> Any:
    """Transfer (转办) a task to a colleague of the same role and org unit, outright.
    The colleague is notified; 422 on `username` says why one is not eligible."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        task = work.transfer(
            session, principal=principal, task_id=task_id, username=args["username"], clock=rt.clock
        )
        return _shown(session, principal, rt.clock, task)


@blp.route("/tasks/<int:task_id>/candidates")
@blp.arguments(CandidatesArgs, location="query")
@blp.response(200, PersonSchema(many=True))
def list_candidates(args: dict[str, Any], task_id: int) -> Any:
    """Whom I may choose on this open task, by 姓名: colleagues to delegate (委派) or transfer
    (转办) it to, or the reviewers its appeal's acceptance may name — by the rule the write
    applies (role, unit, recusal). Send the chosen `username` in the write's body. 404 for a
    task out of my sight, 403 when I may not make the choice, 422 on `purpose`."""
    with auth.reading() as (session, principal):
        return candidates.candidates(
            session,
            principal=principal,
            task_id=task_id,
            purpose=args["purpose"],
            text=args.get("q"),
        )


@blp.route("/tasks/<int:task_id>/urge", methods=["POST"])
@blp.arguments(TaskUrgeArgs)
@blp.response(201, TaskUrgeSchema)
def urge_task(args: dict[str, Any], task_id: int) -> Any:
    """Urge (催办) an open task, as a supervisor over its org unit: recorded with the note and
    sent to its assignee, or to everyone of its role in its unit while nobody holds it."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        row = work.urge(
            session, principal=principal, task_id=task_id, note=args["note"], clock=rt.clock
        )
        return views.urge_views(session, [row])[0]


@blp.route("/tasks/<int:task_id>/escalate", methods=["POST"])
@blp.arguments(TaskEscalateArgs)
@blp.response(201, TaskEscalationSchema)
def escalate_task(args: dict[str, Any], task_id: int) -> Any:
    """Escalate (督办上报) an overdue task, as a supervisor over its org unit: recorded as an urge
    and sent to whoever owes the task, the unit's party committee and the supervisors one level
    up. 409 when the task is not overdue (urge it instead)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        done = work.escalate(
            session,
            principal=principal,
            task_id=task_id,
            note=args["note"],
            clock=rt.clock,
            until=args["until"],
        )
        return {
            "urge": views.urge_views(session, [done.urge])[0],
            "notified": done.notified,
            "supervision_due_at": done.supervision_due_at,
        }


@blp.route("/tasks/<int:task_id>/urges")
@blp.response(200, TaskUrgeSchema(many=True))
def list_urges(task_id: int) -> Any:
    """The urges (催办) of a task I may see, oldest first."""
    with auth.reading() as (session, principal):
        return views.urges(session, principal, task_id)


@blp.route("/tasks/<int:task_id>/comments")
@blp.response(200, TaskCommentSchema(many=True))
def list_comments(task_id: int) -> Any:
    """The comments on a task I may see, oldest first."""
    with auth.reading() as (session, principal):
        return views.comments(session, principal, task_id)


@blp.route("/tasks/<int:task_id>/comments", methods=["POST"])
@blp.arguments(TaskCommentArgs)
@blp.response(201, TaskCommentSchema)
def add_comment(args: dict[str, Any], task_id: int) -> Any:
    """Comment on an open task I may see."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        row = work.comment(
            session, principal=principal, task_id=task_id, body=args["body"], clock=rt.clock
        )
        return views.comment_views(session, [row])[0]

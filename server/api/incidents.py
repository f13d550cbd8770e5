"""故障 (/api/v1/incidents): timer firings that failed or ran past the step budget — list, one,
retry now, cancel (withdraw the failing timers). Administrators (instances of their units)
and designers (all); everyone else 403.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint, PageArgs, PageSchema, person_name, refusals
from workflows.engine.incidents.models import STATUSES
from workflows.incidents import actions, views

blp = Blueprint(
    "incidents", __name__, description="故障：定时器触发失败或超出预算的实例，重试与取消"
)

_REFUSALS = {
    403: "不是系统管理或流程设计人员",
    404: "没有这个故障，或它不在我的管理范围内",
    409: "故障已解决或已取消",
    422: "输入有误：errors 按字段说明",
}


def _refusals(*statuses: int) -> Any:
    return refusals(blp, _REFUSALS, *statuses)


class IncidentListArgs(PageArgs):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf([*STATUSES, "all"]),
        metadata={
            "description": "open 待处理（默认）/ resolved 已解决 / cancelled 已取消 / all 全部"
        },
    )


class IncidentSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    process_name = fields.String(required=True)
    process_version = fields.Integer(required=True)
    org_unit = fields.String(allow_none=True, metadata={"description": "实例的管辖单位"})
    case_id = fields.Integer(allow_none=True, metadata={"description": "所属案件（我可查看时）"})
    case_number = fields.String(allow_none=True)
    kind = fields.String(required=True, metadata={"description": "timer：定时器触发"})
    element = fields.String(allow_none=True, metadata={"description": "出错的 BPMN 元素 id"})
    message = fields.String(required=True, metadata={"description": "出错原因（中文）"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_name = fields.String(required=True)
    attempts = fields.Integer(required=True, metadata={"description": "已尝试次数"})
    max_attempts = fields.Integer(required=True, metadata={"description": "自动重试的最多次数"})
    first_seen = fields.DateTime(required=True)
    last_seen = fields.DateTime(required=True)
    next_retry_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "下次自动重试时间；为空表示等待人工处理（或已关闭）"},
    )
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    closed_by_name = person_name("处理人")
    may_retry = fields.Boolean(required=True)
    may_cancel = fields.Boolean(required=True)


class IncidentPageSchema(PageSchema):
    items = fields.List(fields.Nested(IncidentSchema), required=True)


class RetryResultSchema(Schema):
    resolved = fields.Boolean(
        required=True, metadata={"description": "true：定时器已触发，故障已解决"}
    )
    fired = fields.Integer(required=True, metadata={"description": "本次触发的定时器数"})
    message = fields.String(allow_none=True, metadata={"description": "再次失败时的原因"})
    incident = fields.Nested(IncidentSchema, required=True)


class CancelArgs(Schema):
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "取消的理由（记入审计）"},
    )


class CancelResultSchema(Schema):
    withdrawn = fields.List(
        fields.String(), required=True, metadata={"description": "从流程中撤销的定时器（元素 id）"}
    )
    incident = fields.Nested(IncidentSchema, required=True)


@blp.route("/incidents")
@blp.arguments(IncidentListArgs, location="query")
@blp.response(200, IncidentPageSchema)
@_refusals(403)
def list_incidents(args: dict[str, Any]) -> Any:
    """Incidents I may handle, most recently seen first: open ones by default (?status=…)."""
    page, per_page = args["page"], args["per_page"]
    status = None if args["status"] == "all" else args["status"]
    with auth.reading() as (session, principal):
        return views.incidents(
            session, principal=principal, status=status, page=page, per_page=per_page
        )


@blp.route("/incidents/<int:incident_id>")
@blp.response(200, IncidentSchema)
@_refusals(403, 404)
def get_incident(incident_id: int) -> Any:
    """One incident: where and why its instance is stuck, since when, how often it was tried."""
    with auth.reading() as (session, principal):
        return views.incident(session, principal=principal, incident_id=incident_id)


@blp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, RetryResultSchema)
@_refusals(403, 404, 409)
def retry_incident(incident_id: int) -> Any:
    """Fire the instance's due timers now. Resolved when they fire; when they fail again the
    attempt is counted on the incident and the answer says why (still 200: the retry was made
    and recorded). Audited."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        outcome = actions.retry(
            session, principal=principal, incident_id=incident_id, clock=rt.clock
        )
        view = views.incident(session, principal=principal, incident_id=incident_id)
    return {
        "resolved": outcome.resolved,
        "fired": outcome.fired,
        "message": outcome.message,
        "incident": view,
    }


@blp.route("/incidents/<int:incident_id>/cancel", methods=["POST"])
@blp.arguments(CancelArgs)
@blp.response(200, CancelResultSchema)
@_refusals(403, 404, 409, 422)
def cancel_incident(args: dict[str, Any], incident_id: int) -> Any:
    """Withdraw the instance's due timers from the process, so they never fire (a deadline is
    dropped and its task goes on; a waiting branch ends), and close the incident. Audited."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        withdrawn = actions.cancel(
            session,
            principal=principal,
            incident_id=incident_id,
            clock=rt.clock,
            reason=args.get("reason"),
        )
        view = views.incident(session, principal=principal, incident_id=incident_id)
    return {"withdrawn": withdrawn, "incident": view}

"""我的案件 (/api/v1/me/cases): a cadre's own home — their cases with a status they understand,
the decisions served on them with the appeal window, their applications and the steps they
owe. The view is workflows/cases/cadre_views.py; nothing internal is in it to leave out."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from server import auth
from server.api.cases import CaseSchema, DecisionSchema
from server.api.common import Blueprint
from workflows.cases import cadre_views, served

blp = Blueprint("me", __name__, description="我的案件：干部本人的案件、送达的决定、申请")


class MyCaseSchema(CaseSchema):
    status = fields.String(
        required=True,
        metadata={
            "description": "干部本人看到的状态："
            + "、".join(f"{key} {name}" for key, name in served.STATUS_NAMES.items())
        },
    )
    received_on = fields.Date(allow_none=True, metadata={"description": "决定送达之日"})


class ServedDecisionSchema(Schema):
    decision = fields.Nested(DecisionSchema, required=True)
    case = fields.Nested(MyCaseSchema, required=True)
    appeal_ends_on = fields.Date(
        allow_none=True, metadata={"description": "可以申诉的最后一日（可申诉的决定才有）"}
    )
    may_appeal = fields.Boolean(required=True, metadata={"description": "现在可以申诉"})
    appealed_as = fields.String(allow_none=True, metadata={"description": "已提出的申诉案件编号"})


class ApplicationSchema(Schema):
    kind_name = fields.String(
        required=True, metadata={"description": "申诉、免责申请、澄清正名申请"}
    )
    case = fields.Nested(MyCaseSchema, required=True)
    against = fields.String(allow_none=True, metadata={"description": "针对的案件编号"})


class OwedStepSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "任务 id（GET /tasks/{id}）"})
    name = fields.String(required=True)
    case_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(required=True)


class MyCasesSchema(Schema):
    cadre_id = fields.Integer(required=True)
    cadre_name = fields.String(required=True)
    cases = fields.List(fields.Nested(MyCaseSchema), required=True)
    decisions = fields.List(
        fields.Nested(ServedDecisionSchema),
        required=True,
        metadata={"description": "已送达的决定，最近送达的在前"},
    )
    applications = fields.List(fields.Nested(ApplicationSchema), required=True)
    steps = fields.List(
        fields.Nested(OwedStepSchema), required=True, metadata={"description": "需要本人办理的事项"}
    )
    may_apply = fields.Boolean(
        required=True,
        metadata={"description": "可以提出申请（免责申请、澄清正名申请：POST /cases）"},
    )


@blp.route("/me/cases")
@blp.response(200, MyCasesSchema)
def my_cases() -> Any:
    """A cadre's home (我的案件): their cases, the decisions served on them with the appeal window's
    last day, their applications and their state, and the steps they owe themself. A decision
    not yet served is not in it. For cadre users only (403 for everyone else)."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        return cadre_views.my_cases(session, principal=principal, clock=rt.clock)

"""The bodies of 加签 and 抄送 as the API answers them: a request for opinions with its
opinions, a copy, a colleague by name. Shared by the task detail (tasks.py) and the
consultation routes (consultations.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.common import PageSchema
from workflows.tasks import consultation_views
from workflows.tasks.models import CONSULTATION_STATES


class OpinionSchema(Schema):
    username = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "姓名（单位·岗位）"})
    opinion = fields.String(allow_none=True, metadata={"description": "意见；未回复为 null"})
    answered_at = fields.DateTime(allow_none=True)


class ConsultationSchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    task_name = fields.String(required=True)
    task_state = fields.String(
        required=True, metadata={"description": "步骤：open / completed / cancelled"}
    )
    case_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    subject_name = fields.String(allow_none=True)
    asked_by = fields.String(required=True, metadata={"description": "加签人"})
    asked_by_name = fields.String(required=True)
    question = fields.String(required=True)
    asked_at = fields.DateTime(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf(CONSULTATION_STATES),
        metadata={"description": "open 待回复；answered 已全部回复；withdrawn 已撤回"},
    )
    state_name = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    opinions = fields.List(fields.Nested(OpinionSchema), required=True)
    missing = fields.List(
        fields.String(), required=True, metadata={"description": "尚未回复者（姓名（单位·岗位））"}
    )
    actions = fields.List(
        fields.String(
            validate=validate.OneOf((consultation_views.ANSWER, consultation_views.WITHDRAW))
        ),
        required=True,
        metadata={"description": "我现在可以做的：answer 回复意见、withdraw 撤回"},
    )


class ConsultationPageSchema(PageSchema):
    items = fields.List(fields.Nested(ConsultationSchema), required=True)


class CopySchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    task_name = fields.String(required=True)
    case_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    subject_name = fields.String(allow_none=True)
    copied_by = fields.String(required=True, metadata={"description": "抄送人"})
    copied_by_name = fields.String(required=True)
    username = fields.String(required=True, metadata={"description": "被抄送人"})
    name = fields.String(required=True)
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)


class CopyPageSchema(PageSchema):
    items = fields.List(fields.Nested(CopySchema), required=True)

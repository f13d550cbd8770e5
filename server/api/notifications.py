"""站内通知 (/api/v1/notifications): my own notices — assigned, urged, due soon, overdue, decided."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server import auth
from server.api.common import Blueprint, PageArgs, PageSchema
from workflows.messages import t
from workflows.tasks import notifications, views

blp = Blueprint("notifications", __name__, description="站内通知")


class NotificationListArgs(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "true 只看未读"})


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(notifications.KINDS)),
        metadata={
            "description": "assigned 分派 / urged 催办 / due_soon 即将到期 / "
            "overdue 已逾期 / decided 决定已送达（送达后才通知当事干部）"
        },
    )
    kind_name = fields.String(required=True, metadata={"description": "类别中文名"})
    title = fields.String(required=True)
    body = fields.String(required=True)
    task_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)


class NotificationPageSchema(PageSchema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    unread = fields.Integer(required=True, metadata={"description": "我的未读通知数"})


class MarkReadArgs(Schema):
    ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
        validate=validate.Length(min=1, max=500),
        metadata={"description": "要标为已读的通知 id"},
    )
    all = fields.Boolean(
        load_default=False, metadata={"description": "true 把我的全部未读标为已读"}
    )

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if bool(data.get("ids")) == bool(data.get("all")):
            raise ValidationError(t("给出 ids，或 all: true（二者选一）"), field_name="ids")


class MarkedSchema(Schema):
    marked = fields.Integer(required=True, metadata={"description": "本次标为已读的条数"})
    unread = fields.Integer(required=True, metadata={"description": "剩余未读数"})


@blp.route("/notifications")
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(args: dict[str, Any]) -> Any:
    """My notices, newest first (?unread=true for the unread ones only), with my unread count."""
    with auth.reading() as (session, principal):
        return views.notices(
            session,
            principal,
            unread_only=args["unread"],
            page=args["page"],
            per_page=args["per_page"],
        )


@blp.route("/notifications/read", methods=["POST"])
@blp.arguments(MarkReadArgs)
@blp.response(200, MarkedSchema)
def mark_read(args: dict[str, Any]) -> Any:
    """Mark my notices read: the listed `ids`, or `all: true`. An id that is not mine is 404."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        marked = notifications.mark_read(
            session,
            username=principal.username,
            ids=None if args.get("all") else args["ids"],
            clock=rt.clock,
        )
        return {
            "marked": marked,
            "unread": notifications.unread_count(session, username=principal.username),
        }

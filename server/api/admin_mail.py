"""邮件 (/api/v1/admin/mail): the notices' e-mails to the users of my units — pending, sent,
failed with the server's last answer — and retry of a failed one. Administrators only (403 for
everyone else); another unit's mail answers 404. Routes of the admin blueprint.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.admin import blp
from server.api.common import PageArgs, PageSchema, refusals
from workflows.tasks import outbox_admin

_REFUSALS = {
    403: "不是系统管理人员",
    404: "没有这封邮件，或收件人不在我的管理范围内",
    409: "邮件未发送失败（待发送或已发送），无需重试",
    422: "输入有误：errors 按字段说明",
}


def _refusals(*statuses: int) -> Any:
    return refusals(blp, _REFUSALS, *statuses)


class MailListArgs(PageArgs):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(outbox_admin.STATUSES),
        metadata={"description": "pending 待发送 / sent 已发送 / failed 发送失败；不填为全部"},
    )


class MailSchema(Schema):
    id = fields.Integer(required=True)
    notification_id = fields.Integer(required=True, metadata={"description": "对应的站内通知"})
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    address = fields.String(required=True, metadata={"description": "收件地址（入队时的邮箱）"})
    subject = fields.String(required=True)
    body = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(outbox_admin.STATUSES))
    status_name = fields.String(required=True)
    attempts = fields.Integer(required=True, metadata={"description": "已尝试发送的次数"})
    max_attempts = fields.Integer(required=True, metadata={"description": "放弃前最多尝试次数"})
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(
        allow_none=True, metadata={"description": "待发送：下次尝试的时间"}
    )
    sent_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(
        allow_none=True, metadata={"description": "发送失败（已放弃）的时间；可重试"}
    )
    last_error = fields.String(allow_none=True, metadata={"description": "最近一次失败的原因"})
    may_retry = fields.Boolean(required=True)


class MailPageSchema(PageSchema):
    enabled = fields.Boolean(
        required=True, metadata={"description": "本部署是否发送邮件（CADREFLOW_SMTP_URL）"}
    )
    items = fields.List(fields.Nested(MailSchema), required=True)


@blp.route("/admin/mail")
@blp.arguments(MailListArgs, location="query")
@blp.response(200, MailPageSchema)
@_refusals(403, 422)
def list_mail(args: dict[str, Any]) -> Any:
    """The e-mails of notices to the users of my units, newest first (?status= one state)."""
    with auth.reading() as (session, principal):
        found = outbox_admin.mails(
            session,
            principal=principal,
            status=args["status"],
            page=args["page"],
            per_page=args["per_page"],
        )
    return {
        "enabled": outbox_admin.mail_enabled(),
        "items": found.items,
        "page": found.page,
        "per_page": found.per_page,
        "total": found.total,
    }


@blp.route("/admin/mail/<int:mail_id>/retry", methods=["POST"])
@blp.response(200, MailSchema)
@_refusals(403, 404, 409)
def retry_mail(mail_id: int) -> Any:
    """Put a failed e-mail back to pending: the scheduler tries it again at once, with its tries
    counted afresh. Audited (`mail.retry`)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        return outbox_admin.retry(session, principal=principal, mail_id=mail_id, clock=rt.clock)

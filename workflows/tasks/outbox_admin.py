"""邮件 for administrators: the outbox's rows of the users of their units — pending, sent,
failed with the server's last answer — and 重试, which puts a failed mail back to pending.

An administrator sees the mail of the users they administer (their unit and the units below),
as they see the users; another unit's mail does not exist for them (NotFound). Read by the API
(/api/v1/admin/mail) and the 邮件 page alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session

from workflows import access, paging
from workflows.access import Principal, check_may_administer
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.engine.models import table_of
from workflows.errors import Conflict, NotFound
from workflows.messages import t
from workflows.org.models import User
from workflows.tasks.outbox import (
    FAILED,
    MAX_ATTEMPTS,
    PENDING,
    SENT,
    STATUS_NAMES,
    MailOutbox,
    current,
)

STATUSES = (PENDING, SENT, FAILED)
_OUTBOX = table_of(MailOutbox)


@dataclass(frozen=True)
class MailView:
    """One queued e-mail as an administrator sees it, with whether it may be retried."""

    id: int
    notification_id: int
    username: str
    display_name: str
    address: str
    subject: str
    body: str
    status: str
    status_name: str
    attempts: int
    max_attempts: int
    created_at: datetime
    next_attempt_at: datetime | None  # pending: when it is tried (again)
    sent_at: datetime | None
    failed_at: datetime | None  # given up: waits for 重试
    last_error: str | None
    may_retry: bool


def mail_enabled() -> bool:
    """Whether this deployment sends e-mail (CADREFLOW_SMTP_URL is set)."""
    return current().enabled


def _status_clause(status: str) -> ColumnElement[bool]:
    if status == SENT:
        return MailOutbox.sent_at.is_not(None)
    if status == FAILED:
        return MailOutbox.sent_at.is_(None) & MailOutbox.failed_at.is_not(None)
    return MailOutbox.sent_at.is_(None) & MailOutbox.failed_at.is_(None)


def _query(principal: Principal) -> Select[Any]:
    return cast(
        Select[Any],
        select(MailOutbox, User.display_name)
        .join(User, User.username == MailOutbox.username)
        .where(User.org_unit_code.in_(sorted(principal.units))),
    )


def _view(row: Any) -> MailView:
    mail: MailOutbox = row.MailOutbox
    status = SENT if mail.sent_at else FAILED if mail.failed_at else PENDING
    return MailView(
        id=mail.id,
        notification_id=mail.notification_id,
        username=mail.username,
        display_name=row.display_name,
        address=mail.address,
        subject=mail.subject,
        body=mail.body,
        status=status,
        status_name=STATUS_NAMES[status],
        attempts=mail.attempts,
        max_attempts=MAX_ATTEMPTS,
        created_at=mail.created_at,
        next_attempt_at=mail.next_attempt_at,
        sent_at=mail.sent_at,
        failed_at=mail.failed_at,
        last_error=mail.last_error,
        may_retry=status == FAILED,
    )


def mails(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> paging.Page[MailView]:
    """One page of the mail to the users of the administrator's units (of one status, or
    all), newest first, and how many there are."""
    check_may_administer(principal)
    query = _query(principal)
    if status is not None:
        if status not in STATUSES:
            raise NotFound(t("没有状态为 %(status)s 的邮件", status=status))
        query = query.where(_status_clause(status))
    found = paging.paginate(
        session,
        query.order_by(MailOutbox.id.desc()),
        page=page,
        per_page=per_page,
        key=MailOutbox.id,
    )
    return found.map(_view)


def mail(session: Session, *, principal: Principal, mail_id: int) -> MailView:
    """One mail to a user of the administrator's units; NotFound otherwise, as if absent."""
    check_may_administer(principal)
    row = (
        session.execute(
            _query(principal)
            .where(MailOutbox.id == mail_id)
            .execution_options(populate_existing=True)
        ).first()
        if 0 < mail_id <= access.MAX_ID
        else None
    )
    if row is None:
        raise NotFound(t("邮件 %(mail_id)s 不存在", mail_id=mail_id))
    return _view(row)


def retry(session: Session, *, principal: Principal, mail_id: int, clock: Clock) -> MailView:
    """Puts a failed mail back to pending, due now with its tries counted afresh; Conflict
    when it has not failed (pending or sent). Audited (`mail.retry`)."""
    before = mail(session, principal=principal, mail_id=mail_id)
    now = clock.now()
    changed = (
        session.connection()
        .execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == mail_id, _OUTBOX.c.failed_at.is_not(None))
            .where(_OUTBOX.c.sent_at.is_(None))
            .values(failed_at=None, attempts=0, next_attempt_at=now)
        )
        .rowcount
    )
    if not changed:
        now_shown = mail(session, principal=principal, mail_id=mail_id)
        raise Conflict(
            t(
                "邮件 %(mail_id)s 未发送失败（%(status_name)s），无需重试",
                mail_id=mail_id,
                status_name=now_shown.status_name,
            )
        )
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="mail.retry",
        object_type="mail",
        object_id=mail_id,
        detail={
            "username": before.username,
            "address": before.address,
            "attempts": before.attempts,
            "last_error": before.last_error,
        },
    )
    return mail(session, principal=principal, mail_id=mail_id)

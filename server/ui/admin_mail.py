"""邮件 (/admin/mail): the notices' e-mails to the users of the administrator's units — pending,
sent, failed with the server's last answer — with 重试 for a failed one. Reads and acts through
workflows/tasks/outbox_admin.py, as the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.ui.common import bp, redirect_with, safe_next
from workflows.tasks import outbox_admin

PER_PAGE = 50
#: The status tabs, in order; "all" lists every status.
TABS = ("all", *outbox_admin.STATUSES)


@bp.get("/admin/mail")
def admin_mail() -> Any:
    """The mail to my units' users, newest first, one status at a time."""
    asked = request.args.get("status", "all")
    status = asked if asked in TABS else "all"
    page_text = request.args.get("page", "1")
    page = (
        min(int(page_text), 100_000)
        if page_text.isascii() and page_text.isdigit() and int(page_text) > 0
        else 1
    )
    with auth.reading() as (session, principal):
        found = outbox_admin.mails(
            session,
            principal=principal,
            status=None if status == "all" else status,
            page=page,
            per_page=PER_PAGE,
        )
    link: Callable[..., str] = lambda page: url_for(
        "ui.admin_mail",
        status=None if status == "all" else status,
        page=page if page > 1 else None,
    )
    return render_template(
        "admin/mail.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=found.pages,
        status=status,
        tabs=TABS,
        enabled=outbox_admin.mail_enabled(),
        link=link,
        here_url=link(page),
    )


@bp.post("/admin/mail/<int:mail_id>/retry")
def admin_mail_retry(mail_id: int) -> Any:
    """Put a failed mail back to pending; the scheduler sends it on its next run."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        outbox_admin.retry(session, principal=principal, mail_id=mail_id, clock=rt.clock)
    back = safe_next(request.form.get("next"), default=url_for("ui.admin_mail"))
    return redirect_with(back, _("邮件 %(id)d 已改为待发送，将很快重新发送", id=mail_id), "success")

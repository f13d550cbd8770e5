"""站内通知 (/notifications): my notices, newest first, and marking them all read."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server import auth
from server.ui.common import bp, redirect_with
from workflows.tasks import notifications, views

PER_PAGE = 30
#: notifications.KINDS, translatable.
KIND_LABELS = {
    "assigned": _l("分派"),
    "urged": _l("催办"),
    "due_soon": _l("即将到期"),
    "overdue": _l("逾期"),
    "decided": _l("决定已送达"),
    "returned": _l("退回"),
    "consulted": _l("征求意见"),
    "opinion": _l("意见回复"),
    "consult_withdrawn": _l("征求意见已撤回"),
    "copied": _l("抄送"),
}


@bp.get("/notifications")
def notices() -> Any:
    """My notices a page at a time (?unread=1 for the unread ones only)."""
    page = request.args.get("page", "1")
    page_no = min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1
    unread_only = request.args.get("unread") == "1"
    with auth.reading() as (session, principal):
        found = views.notices(
            session, principal, unread_only=unread_only, page=page_no, per_page=PER_PAGE
        )
    return render_template(
        "notifications.html",
        items=found.items,
        total=found.total,
        page=page_no,
        pages=found.pages,
        unread=found.unread,
        unread_only=unread_only,
        kinds=KIND_LABELS,
        link=lambda page: url_for("ui.notices", page=page, unread=1 if unread_only else None),
    )


@bp.post("/notifications/read")
def notices_read() -> Any:
    """Mark all my unread notices read."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        marked = notifications.mark_read(
            session, username=principal.username, ids=None, clock=rt.clock
        )
    return redirect_with(url_for("ui.notices"), _("已将 %(n)d 条通知标为已读", n=marked), "success")

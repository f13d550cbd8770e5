"""故障 (/incidents): the instances stuck on a timer that failed or ran past its budget, for
administrators (their units) and designers (all) — where, why, since when, how often tried —
with 重试 (fire now) and 取消 (withdraw the failing timers). Reads workflows/incidents/views.py
and acts through workflows/incidents/actions.py, as the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.ui.common import bp, redirect_with, safe_next
from workflows.engine.incidents.models import OPEN, STATUSES
from workflows.incidents import actions, views

PER_PAGE = 50
#: The status tabs, in order; "all" lists every status.
TABS = (*STATUSES, "all")


@bp.get("/incidents")
def incidents() -> Any:
    """The incidents I may handle, most recently seen first, one status at a time."""
    asked = request.args.get("status", OPEN)
    status = asked if asked in TABS else OPEN
    page_text = request.args.get("page", "1")
    page = (
        min(int(page_text), 100_000)
        if page_text.isascii() and page_text.isdigit() and int(page_text) > 0
        else 1
    )
    with auth.reading() as (session, principal):
        found = views.incidents(
            session,
            principal=principal,
            status=None if status == "all" else status,
            page=page,
            per_page=PER_PAGE,
        )
    link: Callable[..., str] = lambda page: url_for(
        "ui.incidents", status=None if status == OPEN else status, page=page if page > 1 else None
    )
    return render_template(
        "incidents.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=found.pages,
        status=status,
        tabs=TABS,
        link=link,
        here_url=link(page),
    )


def _back() -> str:
    return safe_next(request.form.get("next"), default=url_for("ui.incidents"))


@bp.post("/incidents/<int:incident_id>/retry")
def incident_retry(incident_id: int) -> Any:
    """Fire the stuck instance's due timers now; say whether it worked, and why not."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        outcome = actions.retry(
            session, principal=principal, incident_id=incident_id, clock=rt.clock
        )
    if outcome.resolved:
        return redirect_with(
            _back(), _("故障 %(id)d 已解决：定时器已触发", id=incident_id), "success"
        )
    return redirect_with(
        _back(),
        _("故障 %(id)d 重试未成功：%(reason)s", id=incident_id, reason=outcome.message or ""),
        "error",
    )


@bp.post("/incidents/<int:incident_id>/cancel")
def incident_cancel(incident_id: int) -> Any:
    """Withdraw the stuck instance's due timers and close the incident."""
    rt = auth.runtime()
    reason = (request.form.get("reason") or "").strip()[:500] or None
    with auth.writing() as (session, principal):
        withdrawn = actions.cancel(
            session, principal=principal, incident_id=incident_id, clock=rt.clock, reason=reason
        )
    timers = "、".join(withdrawn) if withdrawn else _("无")
    return redirect_with(
        _back(),
        _("故障 %(id)d 已取消；撤销的定时器：%(timers)s", id=incident_id, timers=timers),
        "success",
    )

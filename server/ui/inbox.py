"""待办 (/tasks): my tasks, my role's queue and what I have done; claim and unclaim in place.

The page is the API's queue (workflows/tasks/views.py `queue_page`, on the indexed queue
path) rendered; the tabs' counts are one statement on the queues' indexes, and the open
tab's count is the page's total. Each row's buttons are its view's `actions`; claim and
unclaim are workflows/tasks/service.py. With htmx a claim swaps only its row; without
JavaScript the form posts and the inbox reloads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.ui import my_cases
from server.ui.common import bp, is_htmx, link_to_each, redirect_with, safe_next
from workflows.engine.models import HumanTask
from workflows.tasks import consultation_views, queues, views
from workflows.tasks import service as work

PER_PAGE = 20
#: 征求意见 shown above the queues (the rest on /consultations).
ASKED_SHOWN = 5
SORTS = queues.SORTS


@dataclass(frozen=True)
class Asked:
    """The inbox's query string, read leniently: a bad value means its default."""

    queue: str | None = None
    process: str | None = None
    overdue: bool | None = None
    text: str | None = None
    sort: str = "due"
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this view with `changes` (defaults left out)."""
        shown = replace(self, **changes)
        values = {
            "queue": shown.queue,
            "process": shown.process,
            "overdue": None if shown.overdue is None else int(shown.overdue),
            "q": shown.text,
            "sort": None if shown.sort == "due" else shown.sort,
            "page": None if shown.page == 1 else shown.page,
        }
        return {k: v for k, v in values.items() if v is not None}


def _asked(args: Mapping[str, str], processes: Mapping[str, str]) -> Asked:
    page = args.get("page", "1")
    return Asked(
        queue=args.get("queue") if args.get("queue") in queues.QUEUES else None,
        process=args.get("process") if args.get("process") in processes else None,
        overdue={"1": True, "0": False}.get(args.get("overdue", "")),
        text=(args.get("q") or "").strip()[:100] or None,
        sort=args.get("sort", "due") if args.get("sort") in SORTS else "due",
        page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
    )


def row_texts() -> dict[str, str]:
    """The fixed texts and links of an inbox row (_task_row.html), made once for the page."""
    return {
        "case_link": link_to_each("ui.case", "case_id"),
        "task_link": link_to_each("ui.task", "task_id"),
        "claim_link": link_to_each("ui.claim", "task_id"),
        "unclaim_link": link_to_each("ui.unclaim", "task_id"),
        "case": _("案件编号"),
        "cadre": _("当事干部"),
        "process": _("流程"),
        "task": _("任务"),
        "completed": _("办结时间"),
        "by": _("办理人"),
        "due": _("期限"),
        "undated": _("无期限"),
        "remind": _("提醒时间"),
        "unclaimed": _("未认领"),
        "claim": _("认领"),
        "unclaim": _("取消认领"),
    }


@bp.get("/tasks")
def inbox() -> Any:
    """My queues with filters, sorted by due date, a page at a time."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        if my_cases.is_cadre(principal):  # their steps are on their home
            return my_cases.to_my_cases()
        processes = views.process_names(session)
        counts = views.queue_lengths(session, principal, clock=rt.clock)
        asked = _asked(request.args, processes)
        queue = asked.queue or ("mine" if counts["mine"] else "role")
        filters = queues.Filters(
            queue=queue,
            process=asked.process,
            overdue=asked.overdue,
            text=asked.text,
            sort=asked.sort,
        )
        whole = filters == queues.Filters(
            queue=queue, sort=asked.sort
        )  # the tab's count is its length
        found = views.queue_page(
            session,
            principal,
            filters,
            clock=rt.clock,
            page=asked.page,
            per_page=PER_PAGE,
            total=counts.get(queue) if whole else None,
        )
        me = principal.username
        # 征求意见: requests asking my opinion, a section of their own above the queues
        waiting = consultation_views.asked_of_me(session, principal, per_page=ASKED_SHOWN)
    asked = replace(asked, queue=queue)
    link: Callable[..., str] = lambda **changes: url_for("ui.inbox", **asked.params(**changes))
    if asked.page > found.pages:
        return redirect_with(link(page=found.pages))
    return render_template(
        "inbox.html",
        items=found.items,
        asked=asked,
        queue=queue,
        counts=counts,
        processes=processes,
        total=found.total,
        me=me,
        row_text=row_texts(),
        link=link,
        pages=found.pages,
        asked_items=waiting.items,
        asked_count=waiting.total,
    )


def _act(task_id: int, action: Callable[..., HumanTask], done: str) -> Any:
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        task = action(session, principal=principal, task_id=task_id, clock=rt.clock)
        [shown] = views.task_views(session, principal, [task.id], clock=rt.clock)
        me = principal.username
    message = done % {"name": shown.name}
    if not is_htmx():
        return redirect_with(
            safe_next(request.form.get("next"), default=url_for("ui.inbox")), message, "success"
        )
    queue = request.form.get("queue", "role")
    gone = queue == "mine" and me not in (shown.assignee, shown.owner)
    row = (
        ""
        if gone
        else render_template(
            "_task_row.html",
            t=shown,
            queue=queue,
            text=row_texts(),
            swapped=True,
            next=request.form.get("next", ""),
        )
    )
    return row + render_template("_messages.html", messages=[("success", message)], oob=True)


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int) -> Any:
    """认领: the task leaves the shared queue for mine."""
    return _act(task_id, work.claim, _("已认领：%(name)s"))


@bp.post("/tasks/<int:task_id>/unclaim")
def unclaim(task_id: int) -> Any:
    """取消认领: the task goes back to the role's shared queue."""
    return _act(task_id, work.unclaim, _("已取消认领：%(name)s"))

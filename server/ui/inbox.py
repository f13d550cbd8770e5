"""待办 (/tasks): my tasks, my role's queue and what I have done; claim and unclaim in place.

The queues are the domain's (workflows/tasks/queues.py), the same the API serves;
claim and unclaim are workflows/tasks/service.py. With htmx a claim swaps only its
row; without JavaScript the form posts and the inbox reloads.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import auth
from server.api.common import page_of
from server.api.tasks import task_item
from server.ui.common import bp, is_htmx, redirect_with, safe_next
from workflows.cases.models import CaseFile
from workflows.engine.models import HumanTask
from workflows.supervision import views as supervision
from workflows.tasks import queues
from workflows.tasks import service as work

PER_PAGE = 20
SORTS = ("due", "-due")


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
        values = {"queue": shown.queue, "process": shown.process,
                  "overdue": None if shown.overdue is None else int(shown.overdue),
                  "q": shown.text, "sort": None if shown.sort == "due" else shown.sort,
                  "page": None if shown.page == 1 else shown.page}
        return {k: v for k, v in values.items() if v is not None}


def _asked(args: Mapping[str, str], processes: Mapping[str, str]) -> Asked:
    page = args.get("page", "1")
    return Asked(queue=args.get("queue") if args.get("queue") in queues.QUEUES else None,
                 process=args.get("process") if args.get("process") in processes else None,
                 overdue={"1": True, "0": False}.get(args.get("overdue", "")),
                 text=(args.get("q") or "").strip()[:100] or None,
                 sort=args.get("sort", "due") if args.get("sort") in SORTS else "due",
                 page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1)


def _item(task: HumanTask, case: Any, *, now: datetime, soon: datetime,
          processes: Mapping[str, str]) -> dict[str, Any]:
    item = task_item(task, now=now, soon=soon, case_id=case.case_id if case else None,
                     case_number=case.case_number if case else None,
                     subject_name=case.subject_name if case else None,
                     case_title=case.case_title if case else None)
    item["process_name"] = processes.get(task.process_key, task.process_key)
    return item


def _case_columns(session: Session, task: HumanTask) -> Any:
    return session.execute(
        select(CaseFile.id.label("case_id"), CaseFile.number.label("case_number"),
               CaseFile.subject_name.label("subject_name"), CaseFile.title.label("case_title"))
        .where(CaseFile.instance_id == task.instance_id)).one_or_none()


@bp.get("/tasks")
def inbox() -> Any:
    """My queues with filters, sorted by due date, a page at a time."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        now = rt.clock.now()
        soon = queues.due_soon_limit(session, rt.clock)
        processes = supervision.process_names(session)
        counts = {q: queues.count_of(session, queues.task_rows(principal, queues.Filters(queue=q), now=now))
                  for q in ("mine", "role")}
        asked = _asked(request.args, processes)
        queue = asked.queue or ("mine" if counts["mine"] else "role")
        query = queues.task_rows(principal, queues.Filters(
            queue=queue, process=asked.process, overdue=asked.overdue, text=asked.text), now=now)
        if asked.sort == "-due" and queue != "done":
            query = query.order_by(None).order_by(HumanTask.due_at.desc().nulls_last(), HumanTask.id.desc())
        rows, total = page_of(session, query, page=asked.page, per_page=PER_PAGE)
        items = [_item(row.HumanTask, row, now=now, soon=soon, processes=processes) for row in rows]
        me = principal.username
    asked = replace(asked, queue=queue)
    link: Callable[..., str] = lambda **changes: url_for("ui.inbox", **asked.params(**changes))
    pages = max(1, math.ceil(total / PER_PAGE))
    if asked.page > pages:
        return redirect_with(link(page=pages))
    return render_template("inbox.html", items=items, asked=asked, queue=queue, counts=counts,
                           processes=processes, total=total, me=me, link=link, pages=pages)


def _act(task_id: int, action: Callable[..., HumanTask], done: str) -> Any:
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        task = action(session, principal=principal, task_id=task_id, clock=rt.clock)
        item = _item(task, _case_columns(session, task), now=rt.clock.now(),
                     soon=queues.due_soon_limit(session, rt.clock),
                     processes=supervision.process_names(session))
        me = principal.username
    message = done % {"name": item["name"]}
    if not is_htmx():
        return redirect_with(safe_next(request.form.get("next"), default=url_for("ui.inbox")),
                             message, "success")
    queue = request.form.get("queue", "role")
    gone = queue == "mine" and me not in (item["assignee"], item["owner"])
    row = "" if gone else render_template("_task_row.html", t=item, queue=queue, me=me, swapped=True,
                                          next=request.form.get("next", ""))
    return row + render_template("_messages.html", messages=[("success", message)], oob=True)


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int) -> Any:
    """认领: the task leaves the shared queue for mine."""
    return _act(task_id, work.claim, _("已认领：%(name)s"))


@bp.post("/tasks/<int:task_id>/unclaim")
def unclaim(task_id: int) -> Any:
    """退回: the task goes back to the role's shared queue."""
    return _act(task_id, work.unclaim, _("已退回：%(name)s"))


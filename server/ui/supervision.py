"""督查 (/supervision): the dashboard, the overdue list with urge (催办) and escalate (督办上报),
and the overdue list as CSV or XLSX.

Counts and lists are the domain's (workflows/supervision.py), the same the API serves;
urge and escalate are workflows/tasks/service.py. The charts are Chart.js drawn from
JSON embedded in the page, each beside a table with the same numbers (the table is
the accessible form; without JavaScript only the tables show). Supervisors and
administrators see the pages (the domain refuses everyone else: a 403 page); only
supervisors urge and escalate, so the action column shows for them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from server import auth
from server.ui import export
from server.ui.common import bp, deadline, redirect_with
from server.ui.i18n import content
from server.ui.layout import ROLE_LABELS
from workflows import access
from workflows.access import Principal
from workflows.errors import Conflict, ValidationFailed
from workflows.org import service as org
from workflows.supervision import views as supervision
from workflows.tasks import service as work
from workflows.tasks import views as task_views

PER_PAGE = 20
#: Roles whose work can be overdue (lanes of the processes); designers and admins have none.
LANE_ROLES = (
    "discipline",
    "organization",
    "functional",
    "committee",
    "unit",
    "cadre",
    "supervisor",
)
AGING_LABELS = {
    "1-3": _l("逾期 1–3 个工作日"),
    "4-7": _l("逾期 4–7 个工作日"),
    "8-15": _l("逾期 8–15 个工作日"),
    "16-30": _l("逾期 16–30 个工作日"),
    "31-": _l("逾期 30 个工作日以上"),
}


@dataclass(frozen=True)
class Asked:
    """The overdue list's query string, read leniently: a bad value means its default."""

    org_unit: str | None = None
    process: str | None = None
    role: str | None = None
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this view with `changes` (defaults left out)."""
        shown = replace(self, **changes)
        values = {
            "org_unit": shown.org_unit,
            "process": shown.process,
            "role": shown.role,
            "page": None if shown.page == 1 else shown.page,
        }
        return {k: v for k, v in values.items() if v is not None}

    @property
    def filters(self) -> supervision.Filters:
        return supervision.Filters(org_unit=self.org_unit, process=self.process, role=self.role)


@dataclass(frozen=True)
class Choices:
    """What the filters offer: the caller's units, the processes, the lane roles."""

    units: dict[str, str]
    processes: dict[str, str]
    roles: dict[str, str]


def _choices(session: Session, principal: Principal) -> Choices:
    names = org.unit_names(session, principal.units)
    units = {code: names[code] for code in sorted(names)}
    return Choices(
        units=units,
        processes=task_views.process_names(session),
        roles={r: str(ROLE_LABELS[r]) for r in LANE_ROLES},
    )


def _asked(args: Mapping[str, str], choices: Choices) -> Asked:
    page = args.get("page", "1")
    return Asked(
        org_unit=args.get("org_unit") if args.get("org_unit") in choices.units else None,
        process=args.get("process") if args.get("process") in choices.processes else None,
        role=args.get("role") if args.get("role") in choices.roles else None,
        page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
    )


def _query() -> dict[str, Any]:
    """This request's query string as url_for values (a POST from the list carries the list's)."""
    return dict(request.args.items())


# -- the dashboard ------------------------------------------------------------------------


@bp.get("/supervision", endpoint="supervision")
def dashboard() -> Any:
    """督查: open, due-soon and overdue work by unit, process and role; aging; the oldest overdue."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        summary = supervision.summary(session, principal=principal, clock=rt.clock)
        may_urge = principal.role in work.URGING_ROLES
    by_role = [replace(c, name=str(ROLE_LABELS.get(c.key, c.name))) for c in summary.by_role]
    by_process = [replace(c, name=content(c.name) or c.name) for c in summary.by_process]
    aging = [(str(AGING_LABELS.get(b.key, b.name)), b) for b in summary.aging]
    groups = [
        ("by_org_unit", _("按单位"), "org_unit", summary.by_org_unit),
        ("by_process", _("按流程"), "process", by_process),
        ("by_role", _("按角色"), "role", by_role),
    ]
    return render_template(
        "supervision.html",
        summary=summary,
        groups=groups,
        aging=aging,
        may_urge=may_urge,
        chart=_chart_data(groups, aging),
    )


def _chart_data(
    groups: list[tuple[str, str, str, list[supervision.Counts]]],
    aging: list[tuple[str, supervision.AgingBucket]],
) -> dict[str, Any]:
    """What the page's script draws: labels and series per chart, texts already translated."""
    data: dict[str, Any] = {
        "series": {"open": _("在办"), "due_soon": _("3 个工作日内到期"), "overdue": _("已逾期")}
    }
    for key, _title, _param, counts in groups:
        data[key] = {
            "labels": [c.name for c in counts],
            "open": [c.open for c in counts],
            "due_soon": [c.due_soon for c in counts],
            "overdue": [c.overdue for c in counts],
        }
    data["aging"] = {
        "labels": [label for label, _b in aging],
        "overdue": [b.overdue for _l, b in aging],
    }
    return data


# -- the overdue list ---------------------------------------------------------------------


def _overdue_page(pressed: dict[str, Any] | None = None, status: int = 200) -> Any:
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        choices = _choices(session, principal)
        asked = _asked(request.args, choices)
        found = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=asked.filters,
            page=asked.page,
            per_page=PER_PAGE,
        )
        may_urge = (
            principal.role in work.URGING_ROLES
        )  # the action column; each row's buttons are its actions
    link: Callable[..., str] = lambda **changes: url_for("ui.overdue", **asked.params(**changes))
    if asked.page > found.pages and pressed is None:
        return redirect_with(link(page=found.pages))
    items = [
        replace(item, role_name=str(ROLE_LABELS.get(item.role or "", item.role_name or "")))
        for item in found.items
    ]
    return render_template(
        "overdue.html",
        items=items,
        total=found.total,
        asked=asked,
        choices=choices,
        link=link,
        pages=found.pages,
        may_urge=may_urge,
        pressed=pressed or {},
        note_max=work.NOTE_MAX,
    ), status


@bp.get("/supervision/overdue")
def overdue() -> Any:
    """逾期清单: overdue tasks and escalations in my units, oldest first, filtered and paged."""
    return _overdue_page()


def _press(task_id: int, action: str) -> Any:
    """Urge or escalate from the overdue list: back to the same view with a message, or the
    list again with the error next to the row's note field (the note kept)."""
    rt = auth.runtime()
    note = request.form.get("note", "")
    until_text = request.form.get("until", "").strip()
    back = url_for("ui.overdue", **_query())
    try:
        with auth.writing() as (session, principal):
            told = 0
            if action == "escalate":
                until = _until(until_text)
                done = work.escalate(
                    session,
                    principal=principal,
                    task_id=task_id,
                    note=note,
                    clock=rt.clock,
                    until=until,
                )
                told = len(done.notified)
            else:
                work.urge(session, principal=principal, task_id=task_id, note=note, clock=rt.clock)
            name = access.get_task(session, principal, task_id).name
    except ValidationFailed as err:
        message = next(
            (e["message"] for e in err.errors if e["field"] in ("note", "until")), err.message
        )
        return _overdue_page(
            {
                "task_id": task_id,
                "action": action,
                "note": note,
                "until": until_text,
                "error": message,
            },
            422,
        )
    except Conflict as err:
        return redirect_with(back, err.message, "error")
    if action == "escalate":
        return redirect_with(
            back, _("已督办上报：%(name)s（已通知 %(n)d 人）", name=name, n=told), "success"
        )
    return redirect_with(back, _("已催办：%(name)s", name=name), "success")


def _until(text: str) -> date | None:
    """The 督办期限 field: empty, or a date (YYYY-MM-DD)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = _("督办期限应为日期（YYYY-MM-DD）：所填为 %(text)s", text=text[:40])
        raise ValidationFailed(message, [{"field": "until", "message": message}]) from None


@bp.post("/supervision/overdue/<int:task_id>/urge")
def urge(task_id: int) -> Any:
    """催办 with a note: whoever owes the task is told; the urge shows in the list and on the case."""
    return _press(task_id, "urge")


@bp.post("/supervision/overdue/<int:task_id>/escalate")
def escalate(task_id: int) -> Any:
    """督办上报 with a note: also the unit's party committee and the supervisors one level up are told."""
    return _press(task_id, "escalate")


@bp.get("/supervision/overdue/<int:task_id>/<any(urge, escalate):action>")
def pressed_page(task_id: int, action: str) -> Any:
    """The address a refused urge was shown at, opened again (a reload, a language switch): the list."""
    return redirect_with(url_for("ui.overdue", **_query()))


@bp.get("/supervision/overdue.<any(csv, xlsx):fmt>")
def overdue_export(fmt: str) -> Any:
    """The overdue list with the page's filters, every page, as CSV or XLSX."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        choices = _choices(session, principal)
        asked = _asked(request.args, choices)
        items = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=asked.filters,
            page=1,
            per_page=export.EXPORT_MAX + 1,
            count=False,
        ).items
    if len(items) > export.EXPORT_MAX:
        return export.too_many(url_for("ui.overdue", **asked.params(page=1)))
    headers = [
        _("案件编号"),
        _("当事干部"),
        _("流程"),
        _("任务"),
        _("角色"),
        _("单位"),
        _("办理人"),
        _("期限"),
        _("期限依据"),
        _("逾期工作日"),
        _("督办期限"),
        _("督办"),
        _("催办次数"),
        _("其中督办上报"),
        _("最近催办时间"),
        _("最近催办人"),
    ]
    rows = (
        [
            i.case_number,
            i.subject_name,
            i.process_name,
            i.task,
            str(ROLE_LABELS.get(i.role or "", i.role_name or "")),
            i.org_unit_name or i.org_unit,
            i.assignee_name,
            deadline(i.due_at),
            i.due_basis,
            i.workdays_overdue or i.days_overdue,
            deadline(i.supervision_due_at) if i.supervision_due_at else "",
            _("期限届满转交督查") if i.escalation else "",
            i.urge_count,
            i.escalations,
            i.last_urged_at,
            i.last_urged_by_name,
        ]
        for i in items
    )
    used = export.used_filters(
        (_("单位"), choices.units.get(asked.org_unit or "", asked.org_unit)),
        (_("流程"), choices.processes.get(asked.process or "", asked.process)),
        (_("角色"), choices.roles.get(asked.role or "", asked.role)),
    )
    return export.table_file(
        fmt=fmt, name="overdue", title=_("逾期清单"), headers=headers, rows=rows, filters=used
    )

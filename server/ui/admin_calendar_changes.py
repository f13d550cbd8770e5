"""系统管理 · 工作日历: a holiday with its 调休 working days as one range, or a year's State
Council notice as CSV. The first submit shows the days and the open deadlines that would move
(nothing saved); 确认保存 posts the same values again and saves them, moving those deadlines
(workflows/tasks/calendar_changes.py, the same calls as the admin API)."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import gettext as _

from server import auth
from server.ui import form_errors
from server.ui.admin_calendar import calendar_page, year_of
from server.ui.common import bp, redirect_with
from workflows import access
from workflows.errors import ValidationFailed
from workflows.tasks import calendar_changes

FIELDS = ("holiday_from", "holiday_to", "workdays", "range_note", "csv")


def _posted() -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in FIELDS}


def _days(values: dict[str, str]) -> tuple[calendar_changes.DayRuling, ...]:
    return calendar_changes.days_of(
        csv_text=values["csv"],
        holiday_from=values["holiday_from"],
        holiday_to=values["holiday_to"],
        workdays=values["workdays"],
        note=values["range_note"],
    )


def _refused(year: int, values: dict[str, str], err: ValidationFailed) -> Any:
    errors = {
        "range_note" if name == "note" else name: message
        for name, message in form_errors.of_domain(err).items()
    }
    return calendar_page(year, values=values, errors=errors, status=422)


@bp.post("/admin/calendar/changes/preview")
def admin_calendar_preview() -> Any:
    """The days a range or CSV would rule and the open deadlines that would move; saves nothing."""
    form_errors.require_token()
    values = _posted()
    year, _problem = year_of(request.form.get("year"), auth.runtime().clock.today().year)
    rt = auth.runtime()
    try:
        with auth.reading() as (session, principal):
            access.check_may_administer(principal)
            change = calendar_changes.preview(session, days=_days(values), clock=rt.clock)
    except ValidationFailed as err:
        return _refused(year, values, err)
    return calendar_page(change.days[0].day.year, values=values, change=change)


@bp.post("/admin/calendar/changes")
def admin_calendar_apply() -> Any:
    """Save the previewed days; the open deadlines that follow them move (audited once)."""
    form_errors.require_token()
    values = _posted()
    year, _problem = year_of(request.form.get("year"), auth.runtime().clock.today().year)
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            change = calendar_changes.apply(
                session, days=_days(values), actor=principal.username, clock=rt.clock
            )
    except ValidationFailed as err:
        return _refused(year, values, err)
    moved = len({move.task_id for move in change.moves})
    return redirect_with(
        url_for("ui.admin_calendar", year=change.days[0].day.year),
        _(
            "已保存 %(days)d 天的放假安排；%(moved)d 个未办结步骤的期限或提醒已重新计算",
            days=len(change.days),
            moved=moved,
        ),
        "success",
    )

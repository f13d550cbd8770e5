"""系统管理: the working-day calendar of a year (days ruled holiday or workday, declaring a
year chinesecalendar does not know) and the deadline settings: the appeal window and every
step's 办理时限 (workflows/definitions/step_limits.py, the same calls as the admin API).

The same rules and domain calls as the admin API: the argument schemas both use
(server/schemas.py) check the fields, workflows/engine/calendar_overrides.py and
workflows/org/admin.py change and audit. A refused form comes back with each message
beside its field and the values kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server import auth
from server.errors import said
from server.schemas import DayArgs, DeadlinesArgs, YearArgs
from server.ui import form_errors
from server.ui.common import bp, redirect_with
from workflows import access
from workflows.cases.service import DEADLINE_DEFAULTS
from workflows.definitions import step_limits
from workflows.engine import calendar_overrides
from workflows.errors import NotFound, ValidationFailed
from workflows.org import admin
from workflows.tasks import calendar_changes

WEEKDAYS = (_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日"))
KINDS = {"holiday": _l("假日（不上班）"), "workday": _l("工作日（调休上班）")}


def year_of(text: str | None, default: int) -> tuple[int, str | None]:
    """The asked year, or the default with the reason the asked one is refused."""
    if not text:
        return default, None
    low, high = calendar_overrides.YEARS
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        return default, _("年度应为 %(low)d 到 %(high)d 之间的整数", low=low, high=high)
    return int(text), None


def calendar_page(
    year: int,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    asked: str | None = None,
    status: int = 200,
    change: calendar_changes.ChangeSet | None = None,
) -> Any:
    """The calendar page of `year`: a refused form's values and messages, or a previewed
    change set awaiting confirmation."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        access.check_may_administer(principal)
        view = calendar_overrides.year_view(session, year=year)
        days = [
            {
                "day": d.day,
                "weekday": WEEKDAYS[d.day.weekday()],
                "is_workday": d.is_workday,
                "note": d.note,
            }
            for d in view.days
        ]
    shown = {
        "year": str(year),
        "day": "",
        "kind": "holiday",
        "note": "",
        "declare_year": str(year),
        "declare_note": view.note,
        "holiday_from": "",
        "holiday_to": "",
        "workdays": "",
        "range_note": "",
        "csv": "",
        **(values or {}),
    }
    return render_template(
        "admin/calendar.html",
        view=view,
        days=days,
        values=shown,
        errors=errors or {},
        kinds=KINDS,
        asked=asked if asked is not None else str(year),
        this_year=rt.clock.today().year,
        change=change,
    ), status


@bp.app_template_global("undeclared_year_ahead")
def undeclared_year_ahead() -> int | None:
    """The year within the next 90 days whose working days nobody declared, for the warning
    on the admin pages and the supervision dashboard (templates/_year_ahead.html)."""
    rt = auth.runtime()
    with rt.reading() as session:
        return calendar_overrides.undeclared_year_ahead(session, today=rt.clock.today())


@bp.get("/admin/calendar")
def admin_calendar() -> Any:
    """A year's calendar: published, declared Monday–Friday, and the days set one by one."""
    today = auth.runtime().clock.today()
    asked = request.args.get("year")
    year, problem = year_of(asked, today.year)
    if problem:
        return calendar_page(year, errors={"year": problem}, asked=asked, status=422)
    return calendar_page(year)


@bp.post("/admin/calendar/days")
def admin_calendar_set_day() -> Any:
    """Rule one day a holiday or a working day (调休), with a note."""
    form_errors.require_token()
    form = request.form
    year, _problem = year_of(form.get("year"), auth.runtime().clock.today().year)
    values = {
        "day": form.get("day", "").strip(),
        "kind": form.get("kind", ""),
        "note": form.get("note", "").strip(),
    }
    errors: dict[str, str] = {}
    day: date | None = None
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        errors["day"] = (
            _("请填写日期，格式 YYYY-MM-DD")
            if not values["day"]
            else _("日期格式不对，应为 YYYY-MM-DD")
        )
    if values["kind"] not in KINDS:
        errors["kind"] = _("请选择假日或工作日")
    loaded, problems = form_errors.load(
        DayArgs(), {"is_workday": values["kind"] == "workday", "note": values["note"]}
    )
    errors.update(problems)
    if errors or day is None:
        return calendar_page(year, values=values, errors=errors, status=422)
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            calendar_overrides.set_day(
                session,
                day=day,
                is_workday=loaded["is_workday"],
                note=loaded["note"],
                actor=principal.username,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        return calendar_page(year, values=values, errors=form_errors.of_domain(err), status=422)
    return redirect_with(
        url_for("ui.admin_calendar", year=day.year),
        _("已将 %(day)s 设为%(kind)s", day=day.isoformat(), kind=KINDS[values["kind"]]),
        "success",
    )


@bp.post("/admin/calendar/days/<string:day>/clear")
def admin_calendar_clear_day(day: str) -> Any:
    """Remove the ruling on a day: the published calendar or the year's declaration applies."""
    form_errors.require_token()
    try:
        parsed = date.fromisoformat(day)
    except ValueError as err:
        raise NotFound(_("%(day)s 不是日期", day=day)) from err
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        access.check_may_administer(principal)
        calendar_overrides.clear_day(session, day=parsed, actor=principal.username, clock=rt.clock)
    return redirect_with(
        url_for("ui.admin_calendar", year=parsed.year),
        _("已清除 %(day)s 的单独设置", day=parsed.isoformat()),
        "success",
    )


@bp.post("/admin/calendar/years")
def admin_calendar_declare() -> Any:
    """Declare a year chinesecalendar does not know: Monday–Friday unless set day by day."""
    form_errors.require_token()
    form = request.form
    values = {
        "declare_year": form.get("declare_year", "").strip(),
        "declare_note": form.get("declare_note", "").strip(),
    }
    shown_year, _problem = year_of(form.get("year"), auth.runtime().clock.today().year)
    loaded, problems = form_errors.load(
        YearArgs(), {"year": values["declare_year"], "note": values["declare_note"]}
    )
    errors = {
        "declare_year" if name == "year" else "declare_note" if name == "note" else name: message
        for name, message in problems.items()
    }
    if errors:
        return calendar_page(shown_year, values=values, errors=errors, status=422)
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        access.check_may_administer(principal)
        calendar_overrides.declare_year(
            session,
            year=loaded["year"],
            note=loaded["note"],
            actor=principal.username,
            clock=rt.clock,
        )
    return redirect_with(
        url_for("ui.admin_calendar", year=loaded["year"]),
        _("已声明 %(year)d 年按周一至周五计工作日", year=loaded["year"]),
        "success",
    )


# -- deadline settings -------------------------------------------------------------------
DEADLINE_LABELS = {
    "appeal_window_months": _l("申诉期限（月，自收到决定之日起）"),
}


UNIT_CHOICES = (("workdays", _l("个工作日")), ("months", _l("个月")), ("days", _l("日（自然日）")))


@dataclass(frozen=True)
class StepForm:
    """A step's limit as its row on the page shows it: the values entered (those in force
    unless a refused form is being shown again) and the messages beside them."""

    limit: step_limits.StepLimit
    values: Mapping[str, Any]
    errors: Mapping[str, str]

    @property
    def key(self) -> str:
        return f"{self.limit.process_key}-{self.limit.element}"


def _deadlines_page(
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    step: tuple[str, str] | None = None,
    step_values: Mapping[str, Any] | None = None,
    step_errors: Mapping[str, str] | None = None,
) -> Any:
    with auth.reading() as (session, principal):
        access.check_may_administer(principal)
        current = admin.deadlines(session)
        limits = step_limits.listing(session)
    processes: dict[str, tuple[str, list[StepForm]]] = {}
    for limit in limits:
        refused = step == (limit.process_key, limit.element)
        shown = {
            "amount": limit.amount,
            "unit": limit.unit or "workdays",
            "reminder_workdays": limit.reminder_workdays,
        }
        form = StepForm(
            limit,
            {**shown, **(step_values or {})} if refused else shown,
            (step_errors or {}) if refused else {},
        )
        processes.setdefault(limit.process_key, (limit.process_name, []))[1].append(form)
    low, high = admin.DEADLINE_RANGE
    return render_template(
        "admin/deadlines.html",
        values={**current, **(values or {})},
        errors=errors or {},
        labels=DEADLINE_LABELS,
        defaults=DEADLINE_DEFAULTS,
        low=low,
        high=high,
        processes=processes,
        units=UNIT_CHOICES,
        source_names=SOURCE_LABELS,
    ), status


SOURCE_LABELS = {
    "setting": _l("本部署设置"),
    "default": _l("流程默认"),
    "policy": _l("规定"),
    "date": _l("案件确定的日期"),
    "same_as": _l("与其他步骤同时到期"),
    "none": _l("未设时限"),
}


def _whole(text: str) -> Any:
    """A whole number from a form field; anything else stays text for the rule to refuse."""
    return int(text) if text.isascii() and text.isdigit() else text


@bp.post("/admin/time-limits/<process_key>/<element>")
def admin_time_limit_save(process_key: str, element: str) -> Any:
    """Change one step's 办理时限 for steps that become available from now on (audited)."""
    form_errors.require_token()
    values = {
        key: request.form.get(key, "").strip() for key in ("amount", "unit", "reminder_workdays")
    }
    errors: dict[str, str] = {}
    if not values["amount"]:
        errors["amount"] = _("请填写时限")
    if errors:
        return _deadlines_page(
            status=422, step=(process_key, element), step_values=values, step_errors=errors
        )
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            changed = step_limits.put(
                session,
                process_key=process_key,
                element=element,
                amount=_whole(values["amount"]),
                unit=values["unit"],
                reminder_workdays=_whole(values["reminder_workdays"])
                if values["reminder_workdays"]
                else None,
                actor=principal.username,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        found = form_errors.of_domain(err)
        if "process_key" in found or ("element" in found and len(found) == 1):
            found = {"form": next(iter(found.values()))}
        return _deadlines_page(
            status=422, step=(process_key, element), step_values=values, step_errors=found
        )
    return redirect_with(
        url_for("ui.admin_deadlines") + f"#limit-{process_key}-{element}",
        _(
            "已保存“%(step)s”的办理时限：%(rule)s；此后开始的步骤按新时限计算",
            step=changed.step,
            rule=changed.rule_text,
        ),
        "success",
    )


@bp.post("/admin/time-limits/<process_key>/<element>/reset")
def admin_time_limit_reset(process_key: str, element: str) -> Any:
    """Back to the process's default for one step (audited when something changed)."""
    form_errors.require_token()
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            changed = step_limits.reset(
                session,
                process_key=process_key,
                element=element,
                actor=principal.username,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        return _deadlines_page(
            status=422, step=(process_key, element), step_errors={"form": said(err.message)}
        )
    return redirect_with(
        url_for("ui.admin_deadlines") + f"#limit-{process_key}-{element}",
        _("“%(step)s”已恢复流程默认：%(rule)s", step=changed.step, rule=changed.rule_text),
        "success",
    )


@bp.get("/admin/deadlines")
def admin_deadlines() -> Any:
    """The deadline settings in force, as a form."""
    return _deadlines_page()


@bp.post("/admin/deadlines")
def admin_deadlines_save() -> Any:
    """Change the deadline settings; cases opened from now on use them."""
    form_errors.require_token()
    values = {key: request.form.get(key, "").strip() for key in DEADLINE_LABELS}
    errors = {key: _("请填写") for key, text in values.items() if not text}
    # Whole numbers only: "5.5" or "五" stay text, which the schema refuses as not an integer.
    data = {
        key: int(text) if text.isascii() and text.isdigit() else text
        for key, text in values.items()
        if text
    }
    loaded, problems = form_errors.load(DeadlinesArgs(), data)
    errors.update(problems)
    if errors:
        return _deadlines_page(values, errors, 422)
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            admin.put_deadlines(session, values=loaded, actor=principal.username, clock=rt.clock)
    except ValidationFailed as err:
        return _deadlines_page(values, form_errors.of_domain(err), 422)
    return redirect_with(
        url_for("ui.admin_deadlines"), _("已保存期限设置；新立案件按新设置计算"), "success"
    )

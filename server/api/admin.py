"""系统管理 (/api/v1/admin): users, roles, org units, working-day calendar, deadline
settings, the movable clock and the audit trail.

Administrators only (403 for everyone else). An administrator manages the users and
units of their own unit's subtree; anyone outside it answers 404. Every change is
audited in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate

from server import auth
from server.api.common import Blueprint, PageArgs, PageSchema, person_name
from server.schemas import (
    YEARS,
    DayArgs,
    DeadlinesArgs,
    OrgUnitCreateArgs,
    UserCreateArgs,
    UserPatchArgs,
    YearArgs,
    deadline_field,
)
from workflows import access
from workflows.cases.service import DEADLINE_DEFAULTS
from workflows.definitions import step_limits
from workflows.engine import audit, calendar_overrides
from workflows.errors import ValidationFailed
from workflows.messages import t
from workflows.org import admin, people
from workflows.org import service as org
from workflows.org.models import User
from workflows.roles import ROLES
from workflows.tasks import calendar_changes

blp = Blueprint("admin", __name__, description="系统管理：用户、单位、日历、设置、时钟、审计")


# -- users and roles ---------------------------------------------------------------------
class AdminUserSchema(Schema):
    username = fields.String(required=True)
    display_name = fields.String(required=True, metadata={"description": "姓名"})
    post = fields.String(allow_none=True, metadata={"description": "职务"})
    label = fields.String(required=True, metadata={"description": "姓名（单位·岗位）"})
    role = fields.String(required=True)
    role_name = fields.String(required=True)
    org_unit = fields.String(required=True, attribute="org_unit_code")
    cadre_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True, metadata={"description": "邮箱；为空则只收站内通知"})
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(allow_none=True)
    failed_logins = fields.Integer(required=True)
    locked_until = fields.DateTime(
        allow_none=True, metadata={"description": "登录失败过多而锁定到此时"}
    )


class RoleSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)


def _user_body(user: User, units: Mapping[str, str]) -> dict[str, Any]:
    return {
        "label": people.person_of(user, units.get(user.org_unit_code)).label,
        **{
            c: getattr(user, c)
            for c in (
                "username",
                "display_name",
                "post",
                "role",
                "org_unit_code",
                "cadre_id",
                "email",
                "active",
                "created_at",
                "last_login_at",
                "locked_until",
            )
        },
        "failed_logins": user.failed_logins or 0,
        "role_name": ROLES.get(user.role, user.role),
    }


@blp.route("/admin/users")
class Users(MethodView):
    @blp.response(200, AdminUserSchema(many=True))
    def get(self) -> Any:
        """The users of my unit and the units below it."""
        with auth.reading() as (session, principal):
            found = admin.users(session, principal=principal)
            units = org.unit_names(session, (u.org_unit_code for u in found))
            return [_user_body(u, units) for u in found]

    @blp.arguments(UserCreateArgs)
    @blp.response(201, AdminUserSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Create a user in one of my units (unique username, password of at least 8 characters,
        an optional e-mail address; a cadre's account names their cadre record)."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            created = admin.create_user(
                session, principal=principal, clock=rt.clock, hasher=rt.hasher, **args
            )
            return _user_body(created, org.unit_names(session, [created.org_unit_code]))


@blp.route("/admin/users/<string:username>", methods=["PATCH"])
@blp.arguments(UserPatchArgs)
@blp.response(200, AdminUserSchema)
def update_user(args: dict[str, Any], username: str) -> Any:
    """Change a user of my units: 姓名 (display_name), 职务 (post; "" or null removes it), role,
    unit, active, e-mail ("" removes it); reset the
    password; unlock after failed logins. A reset or deactivation ends their sessions; nobody demotes, moves or
    deactivates themselves."""
    rt = auth.runtime()
    if "post" in args and args["post"] is None:
        args["post"] = ""  # null clears the 职务, as "" does
    with auth.writing() as (session, principal):
        changed = admin.update_user(
            session,
            principal=principal,
            username=username,
            clock=rt.clock,
            hasher=rt.hasher,
            **args,
        )
        return _user_body(changed, org.unit_names(session, [changed.org_unit_code]))


@blp.route("/admin/roles")
@blp.response(200, RoleSchema(many=True))
def list_roles() -> Any:
    """The roles a user may have, with their Chinese names."""
    with auth.reading() as (_session, principal):
        access.check_may_administer(principal)
    return [{"key": key, "name": name} for key, name in ROLES.items()]


# -- org units ---------------------------------------------------------------------------
class OrgUnitSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"description": "province / city / county"})
    parent = fields.String(allow_none=True, attribute="parent_code")


@blp.route("/admin/org-units")
class OrgUnits(MethodView):
    @blp.response(200, OrgUnitSchema(many=True))
    def get(self) -> Any:
        """My unit and the units below it."""
        with auth.reading() as (session, principal):
            return admin.org_units(session, principal=principal)

    @blp.arguments(OrgUnitCreateArgs)
    @blp.response(201, OrgUnitSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Create a unit below my unit or one of its units."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            return admin.create_org_unit(session, principal=principal, clock=rt.clock, **args)


# -- calendar ----------------------------------------------------------------------------
class CalendarArgs(Schema):
    year = fields.Integer(validate=YEARS, metadata={"description": "年度，默认今年"})


class CalendarDaySchema(Schema):
    day = fields.Date(required=True)
    is_workday = fields.Boolean(required=True)
    note = fields.String(required=True)


class CalendarYearSchema(Schema):
    year = fields.Integer(required=True)
    published = fields.Boolean(
        required=True, metadata={"description": "国务院公布的日历已收录该年"}
    )
    declared = fields.Boolean(
        required=True, metadata={"description": "管理员已声明该年按周一至周五计"}
    )
    note = fields.String(required=True)
    days = fields.List(
        fields.Nested(CalendarDaySchema),
        required=True,
        metadata={"description": "单独设置的日子（调休上班日或假日）"},
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise ValidationFailed(
            t("日期格式不对"), [{"field": "day", "message": t("应为日期，格式 YYYY-MM-DD")}]
        ) from err


@blp.route("/admin/calendar")
@blp.arguments(CalendarArgs, location="query")
@blp.response(200, CalendarYearSchema)
def get_calendar(args: dict[str, Any]) -> Any:
    """What decides a year's working days: the published calendar, a Monday–Friday
    declaration, and the days set one by one."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        access.check_may_administer(principal)
        return calendar_overrides.year_view(session, year=args.get("year") or rt.clock.today().year)


@blp.route("/admin/calendar/days/<string:day>")
class CalendarDay(MethodView):
    @blp.arguments(DayArgs)
    @blp.response(200, CalendarDaySchema)
    def put(self, args: dict[str, Any], day: str) -> Any:
        """Rule a day (YYYY-MM-DD) a working day (调休) or a holiday; deadlines computed from now on
        follow it."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            return calendar_overrides.set_day(
                session,
                day=_day(day),
                is_workday=args["is_workday"],
                note=args["note"],
                actor=principal.username,
                clock=rt.clock,
            )

    @blp.response(204)
    def delete(self, day: str) -> Any:
        """Remove the ruling on a day: the published calendar or the year's declaration applies."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            calendar_overrides.clear_day(
                session, day=_day(day), actor=principal.username, clock=rt.clock
            )
        return ""


@blp.route("/admin/calendar/years", methods=["POST"])
@blp.arguments(YearArgs)
@blp.response(201, CalendarYearSchema)
def declare_year(args: dict[str, Any]) -> Any:
    """Declare a year the published calendar does not know: its days follow Monday–Friday
    unless set one by one."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        access.check_may_administer(principal)
        calendar_overrides.declare_year(
            session, year=args["year"], note=args["note"], actor=principal.username, clock=rt.clock
        )
        return calendar_overrides.year_view(session, year=args["year"])


class CalendarChangeArgs(Schema):
    holiday_from = fields.String(
        load_default="",
        validate=validate.Length(max=20),
        metadata={"description": "放假首日 YYYY-MM-DD"},
    )
    holiday_to = fields.String(
        load_default="",
        validate=validate.Length(max=20),
        metadata={"description": "放假末日（含）"},
    )
    workdays = fields.List(
        fields.String(validate=validate.Length(max=20)),
        load_default=list,
        validate=validate.Length(max=calendar_changes.MAX_RANGE_DAYS),
        metadata={"description": "调休上班日 YYYY-MM-DD"},
    )
    note = fields.String(load_default="", metadata={"description": "说明，如“春节”（至多 200 字）"})
    csv = fields.String(
        load_default="",
        metadata={
            "description": "或：CSV 文本，每行“日期或日期~日期,休或班,名称”（至多 20000 字符）"
        },
    )
    dry_run = fields.Boolean(load_default=False, metadata={"description": "true：只预览，不保存"})


class CalendarMoveSchema(Schema):
    task_id = fields.Integer(required=True)
    case_number = fields.String(allow_none=True)
    step = fields.String(required=True)
    what = fields.String(required=True, metadata={"description": "due 办理期限；remind 提醒时间"})
    before = fields.DateTime(required=True)
    after = fields.DateTime(required=True)


class CalendarChangeSchema(Schema):
    saved = fields.Boolean(required=True)
    days = fields.List(fields.Nested(CalendarDaySchema), required=True)
    moves = fields.List(
        fields.Nested(CalendarMoveSchema),
        required=True,
        metadata={"description": "将随之重新计算的未办结步骤的期限和提醒"},
    )


@blp.route("/admin/calendar/changes", methods=["POST"])
@blp.arguments(CalendarChangeArgs)
@blp.response(200, CalendarChangeSchema)
def change_calendar(args: dict[str, Any]) -> Any:
    """Rule a holiday range with its 调休 working days, or a CSV of days, at once; open steps'
    deadlines that follow move with it (`dry_run`: only list them)."""
    rt = auth.runtime()
    with auth.reading() if args["dry_run"] else auth.writing() as (session, principal):
        access.check_may_administer(principal)
        days = calendar_changes.days_of(
            csv_text=args["csv"],
            holiday_from=args["holiday_from"],
            holiday_to=args["holiday_to"],
            workdays=args["workdays"],
            note=args["note"],
        )
        if args["dry_run"]:
            change = calendar_changes.preview(session, days=days, clock=rt.clock)
        else:
            change = calendar_changes.apply(
                session, days=days, actor=principal.username, clock=rt.clock
            )
    return {"saved": not args["dry_run"], "days": change.days, "moves": change.moves}


# -- deadline settings -------------------------------------------------------------------
DeadlinesSchema = Schema.from_dict(
    {key: deadline_field(key, required=True) for key in DEADLINE_DEFAULTS}, name="DeadlinesSchema"
)


@blp.route("/admin/settings/deadlines")
class Deadlines(MethodView):
    @blp.response(200, DeadlinesSchema)
    def get(self) -> Any:
        """The deadline settings in force (the defaults with this deployment's changes)."""
        with auth.reading() as (session, principal):
            access.check_may_administer(principal)
            return admin.deadlines(session)

    @blp.arguments(DeadlinesArgs)
    @blp.response(200, DeadlinesSchema)
    def put(self, args: dict[str, Any]) -> Any:
        """Change some deadline settings (whole numbers 1–365; unknown keys are refused by
        name); cases opened from now on use them."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            return admin.put_deadlines(
                session, values=args, actor=principal.username, clock=rt.clock
            )


# -- time limits per step ----------------------------------------------------------------
class StepLimitSchema(Schema):
    process_key = fields.String(required=True)
    process_name = fields.String(required=True)
    element = fields.String(required=True, metadata={"description": "BPMN 人工步骤 id"})
    step = fields.String(required=True, metadata={"description": "步骤名称"})
    role = fields.String(allow_none=True)
    role_name = fields.String(allow_none=True)
    declared = fields.String(allow_none=True, metadata={"description": "流程图声明的默认时限"})
    amount = fields.Integer(allow_none=True)
    unit = fields.String(allow_none=True, metadata={"description": "workdays / months / days"})
    reminder_workdays = fields.Integer(
        allow_none=True, metadata={"description": "到期前几个工作日提醒"}
    )
    counted_from = fields.String(required=True, metadata={"description": "起算日，如 立案之日"})
    source = fields.String(
        required=True,
        metadata={"description": "setting / default / policy / date / same_as / none"},
    )
    source_name = fields.String(required=True)
    fixed = fields.String(allow_none=True, metadata={"description": "不能修改的原因"})
    editable = fields.Boolean(required=True)
    rule_text = fields.String(required=True)
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class StepLimitArgs(Schema):
    amount = fields.Raw(required=True, metadata={"description": "正整数；不超过 10 年"})
    unit = fields.Raw(required=True, metadata={"description": "workdays / months / days"})
    reminder_workdays = fields.Raw(
        load_default=None, metadata={"description": "到期前几个工作日提醒；null 不提醒"}
    )


@blp.route("/admin/settings/time-limits")
class StepLimits(MethodView):
    @blp.response(200, StepLimitSchema(many=True))
    def get(self) -> Any:
        """Every step's 办理时限 in the newest deployed versions: the rule in force, its
        source (the process's default, this deployment's setting, a rule that fixes it)."""
        with auth.reading() as (session, principal):
            access.check_may_administer(principal)
            return step_limits.listing(session)


@blp.route("/admin/settings/time-limits/<process_key>/<element>")
class StepLimit(MethodView):
    @blp.response(200, StepLimitSchema)
    def get(self, process_key: str, element: str) -> Any:
        """One step's 办理时限."""
        with auth.reading() as (session, principal):
            access.check_may_administer(principal)
            return step_limits.one(session, process_key=process_key, element=element)

    @blp.arguments(StepLimitArgs)
    @blp.response(200, StepLimitSchema)
    def put(self, args: dict[str, Any], process_key: str, element: str) -> Any:
        """Change one step's 办理时限 (and reminder): steps that become available from now on
        use it; open steps keep their due date. Audited with the values before and after."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            return step_limits.put(
                session,
                process_key=process_key,
                element=element,
                amount=args["amount"],
                unit=args["unit"],
                reminder_workdays=args["reminder_workdays"],
                actor=principal.username,
                clock=rt.clock,
            )

    @blp.response(200, StepLimitSchema)
    def delete(self, process_key: str, element: str) -> Any:
        """Back to the process's default for this step (audited)."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            return step_limits.reset(
                session,
                process_key=process_key,
                element=element,
                actor=principal.username,
                clock=rt.clock,
            )


# -- clock -------------------------------------------------------------------------------
class ClockSchema(Schema):
    now = fields.DateTime(required=True)
    today = fields.Date(required=True, metadata={"description": "部署时区的今天"})
    timezone = fields.String(required=True)
    adjustable = fields.Boolean(
        required=True, metadata={"description": "CLOCK_ADJUSTABLE：演示、测试部署可调"}
    )
    offset_seconds = fields.Float(required=True, metadata={"description": "相对系统时间的偏移"})


class ClockArgs(Schema):
    advance = fields.String(
        validate=validate.Length(min=1, max=20),
        metadata={"description": "向前拨动的时长，如 31d、2h、2w、90m"},
    )
    to = fields.DateTime(
        data_key="set", metadata={"description": "拨到此时刻（不带时区按部署时区）"}
    )


def _clock_body() -> dict[str, Any]:
    rt = auth.runtime()
    return {
        "now": rt.clock.now(),
        "today": rt.clock.today(),
        "timezone": rt.settings.timezone,
        "adjustable": rt.clock.adjustable,
        "offset_seconds": rt.clock.offset.total_seconds(),
    }


@blp.route("/admin/clock")
class AdminClock(MethodView):
    @blp.response(200, ClockSchema)
    def get(self) -> Any:
        """The clock everything reads "now" from, and whether it may be moved here."""
        with auth.reading() as (_session, principal):
            access.check_may_administer(principal)
            return _clock_body()

    @blp.arguments(ClockArgs)
    @blp.response(200, ClockSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Move the clock forward by a duration or to a moment — only in demo and test
        deployments (CLOCK_ADJUSTABLE), 403 elsewhere. Sessions older than the new time
        expire as they would have."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            access.check_may_administer(principal)
            admin.move_clock(
                session,
                clock=rt.clock,
                actor=principal.username,
                advance=args.get("advance"),
                to=args.get("to"),
            )
            return _clock_body()


# -- audit trail -------------------------------------------------------------------------
def _plausible(moment: datetime) -> None:
    if not 1970 <= moment.year <= 2200:
        raise ValidationError(t("应在 1970 到 2200 年之间"))


class AuditArgs(PageArgs):
    actor = fields.String(validate=validate.Length(min=1, max=200))
    action = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "如 case.open"}
    )
    object_type = fields.String(validate=validate.Length(min=1, max=50))
    object_id = fields.String(validate=validate.Length(min=1, max=100))
    instance_id = fields.Integer(validate=validate.Range(min=1, max=access.MAX_ID))
    case_number = fields.String(
        validate=validate.Length(min=1, max=50),
        metadata={"description": "案件号：该案流程实例的记录和关于该案本身的记录"},
    )
    since = fields.DateTime(validate=_plausible, metadata={"description": "含此刻"})
    until = fields.DateTime(validate=_plausible, metadata={"description": "不含此刻"})


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    actor_name = person_name("操作人")
    action = fields.String(required=True)
    action_name = fields.String(required=True, metadata={"description": "操作的中文名称"})
    object_type = fields.String(required=True)
    object_name = fields.String(required=True, metadata={"description": "对象类型的中文名称"})
    object_id = fields.String(required=True)
    instance_id = fields.Integer(allow_none=True)
    detail = fields.Dict(
        required=True, metadata={"description": "内容，含操作人的角色、单位、IP（by）和结果"}
    )
    hash = fields.String(required=True)


class AuditPageSchema(PageSchema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)


class VerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True, metadata={"description": "验证通过的记录数"})
    first_bad_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "第一条断链或被改动的记录；缺少审计记录的变更（不完整）时为 null，见 reason"
        },
    )
    reason = fields.String(
        required=True, metadata={"description": "第一个问题：断链、被改动，或哪项变更缺少审计记录"}
    )


@blp.route("/admin/audit")
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPageSchema)
def list_audit(args: dict[str, Any]) -> Any:
    """The audit trail, newest first: rows by users of my units and about their cases, and the
    system's own rows."""
    rt = auth.runtime()
    moments = {
        name: (value if value.tzinfo else value.replace(tzinfo=rt.clock.tz))
        for name in ("since", "until")
        if isinstance(value := args.get(name), datetime)
    }
    filters = admin.AuditFilters(
        actor=args.get("actor"),
        action=args.get("action"),
        object_type=args.get("object_type"),
        object_id=args.get("object_id"),
        instance_id=args.get("instance_id"),
        case_number=args.get("case_number"),
        **moments,
    )
    with auth.reading() as (session, principal):
        return admin.audit_rows(
            session,
            principal=principal,
            filters=filters,
            page=args["page"],
            per_page=args["per_page"],
        )


@blp.route("/admin/audit/verify", methods=["POST"])
@blp.response(200, VerificationSchema)
def verify_audit() -> Any:
    """Check the whole hash chain of the audit trail and name the first broken row."""
    with auth.reading() as (session, principal):
        access.check_may_administer(principal)
        result = audit.verify(session)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_id": result.broken_at,
        "reason": result.reason,
    }

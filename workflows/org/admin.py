"""系统管理: users and org units within an administrator's own subtree, deadline settings,
the movable clock, and reading the audit trail.

An administrator administers the unit they belong to and the units below it: users and
units elsewhere do not exist for them (NotFound), as cases do not for clerks. Every
change leaves an audit row in the same transaction.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import ColumnElement, Select, false, select, update
from sqlalchemy.orm import Session

from workflows import audit_labels, paging
from workflows.access import Principal, check_may_administer
from workflows.cadres.models import Cadre
from workflows.cases.models import CaseFile
from workflows.cases.service import DEADLINE_DEFAULTS, deadline_settings
from workflows.engine import audit, settings
from workflows.engine.clock import Clock, parse_duration
from workflows.engine.models import AuditEvent, HumanTask, Instance, ProcessVersion
from workflows.errors import ClockNotAdjustable, NotFound, ValidationFailed
from workflows.messages import t
from workflows.org import people
from workflows.org import service as org
from workflows.org.models import LoginSession, OrgUnit, User
from workflows.roles import ROLES

DEADLINE_RANGE = (1, 365)
CLOCK_YEARS = (2000, 2100)  # the years a working-day calendar can know


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}：{message}", [{"field": field, "message": message}])


#: 邮箱: local part @ a domain of dot-separated labels (a practical subset of RFC 5321/5322:
#: no quoted local parts, no IP literals, ASCII only), at most 254 characters in all.
EMAIL_MAX = 254
_EMAIL = re.compile(
    r"(?=.{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def checked_email(value: str | None) -> str | None:
    """The address to store: trimmed, None for none (empty); ValidationFailed naming `email`
    for one that is not an address or longer than 254 characters."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > EMAIL_MAX:
        raise _refuse("email", t("邮箱地址不能超过 %(EMAIL_MAX)s 个字符", EMAIL_MAX=EMAIL_MAX))
    if not _EMAIL.fullmatch(text):
        raise _refuse(
            "email", t("邮箱地址格式不正确：%(text)s（应如 name@example.gov.cn）", text=text[:100])
        )
    return text


def checked_name(value: str | None) -> str:
    """The 姓名 to store: trimmed, 1 to 50 characters (ValidationFailed naming `display_name`)."""
    text = " ".join((value or "").split())
    if not 0 < len(text) <= people.NAME_MAX:
        raise _refuse(
            "display_name", t("姓名应为 1 到 %(NAME_MAX)s 个字", NAME_MAX=people.NAME_MAX)
        )
    return text


def checked_post(value: str | None) -> str | None:
    """The 职务 to store: trimmed, None for none (empty), at most 100 characters
    (ValidationFailed naming `post`)."""
    text = " ".join((value or "").split())
    if len(text) > people.POST_MAX:
        raise _refuse("post", t("职务不能超过 %(POST_MAX)s 个字", POST_MAX=people.POST_MAX))
    return text or None


# -- users -------------------------------------------------------------------------------
def users(session: Session, *, principal: Principal) -> list[User]:
    """The users of the administrator's units, by unit and name."""
    check_may_administer(principal)
    return list(
        session.execute(
            select(User)
            .where(User.org_unit_code.in_(sorted(principal.units)))
            .order_by(User.org_unit_code, User.username)
        ).scalars()
    )


def user(session: Session, *, principal: Principal, username: str) -> User:
    """A user of the administrator's units; NotFound for anyone else, as if absent."""
    check_may_administer(principal)
    found = session.execute(
        select(User).where(
            User.username == username, User.org_unit_code.in_(sorted(principal.units))
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(t("用户 %(username)s 不存在", username=username))
    return found


def _unit_in_scope(session: Session, principal: Principal, code: str, field: str) -> OrgUnit:
    found = session.get(OrgUnit, code) if code in principal.units else None
    if found is None:
        raise _refuse(field, t("单位 %(code)s 不存在或不在本人管理范围内", code=code))
    return found


def _check_cadre(session: Session, principal: Principal, role: str, cadre_id: int | None) -> None:
    if cadre_id is None:
        if role == "cadre":
            raise _refuse("cadre_id", t("干部本人的账户须关联其干部档案"))
        return
    cadre = session.get(Cadre, cadre_id)
    if cadre is None or cadre.org_unit_code not in principal.units:
        raise _refuse(
            "cadre_id", t("干部档案 %(cadre_id)s 不存在或不在本人管理范围内", cadre_id=cadre_id)
        )


def create_user(
    session: Session,
    *,
    principal: Principal,
    username: str,
    display_name: str,
    password: str,
    role: str,
    org_unit: str,
    clock: Clock,
    hasher: PasswordHasher,
    cadre_id: int | None = None,
    email: str | None = None,
    post: str | None = None,
) -> User:
    """A new active user in one of the administrator's units (unique name, a 姓名 of 1 to 50
    characters, a 职务 of at most 100 or none, known role, password of 8+ characters, cadre
    record in scope, a valid e-mail address or none); audited without the password."""
    check_may_administer(principal)
    display_name, post = checked_name(display_name), checked_post(post)
    address = checked_email(email)
    if role not in ROLES:
        raise _refuse("role", t("未知角色 %(role)s", role=role))
    _unit_in_scope(session, principal, org_unit, "org_unit")
    if session.execute(select(User.id).where(User.username == username)).first() is not None:
        raise _refuse("username", t("用户名 %(username)s 已被使用", username=username))
    _check_cadre(session, principal, role, cadre_id)
    created = org.add_user(
        session,
        username=username,
        display_name=display_name,
        password=password,
        role=role,
        org_unit_code=org_unit,
        clock=clock,
        hasher=hasher,
        cadre_id=cadre_id,
        post=post,
    )
    created.email = address
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action="admin.user.create",
        object_type="user",
        object_id=username,
        detail={
            "role": role,
            "org_unit": org_unit,
            "cadre_id": cadre_id,
            "display_name": display_name,
            "post": post,
            "email": address,
        },
    )
    session.flush()
    return created


def update_user(
    session: Session,
    *,
    principal: Principal,
    username: str,
    clock: Clock,
    hasher: PasswordHasher,
    display_name: str | None = None,
    role: str | None = None,
    org_unit: str | None = None,
    active: bool | None = None,
    password: str | None = None,
    unlock: bool = False,
    email: str | None = None,
    post: str | None = None,
) -> User:
    """Changes a user of the administrator's units (`display_name`: their 姓名, 1 to 50
    characters; `post`: their 职务, "" for none; `email`: a new address, or "" for none);
    a password reset or deactivation ends their sessions; nobody demotes, moves or
    deactivates themselves. Audited."""
    target = user(session, principal=principal, username=username)
    now = clock.now()
    changes: dict[str, Any] = {}
    own = target.username == principal.username
    for field, value, current in (
        ("role", role, target.role),
        ("org_unit", org_unit, target.org_unit_code),
        ("active", active, target.active),
    ):
        if own and value is not None and value != current:
            raise _refuse(field, t("不能更改自己的角色、单位或启用状态"))
    if role is not None and role != target.role:
        if role not in ROLES:
            raise _refuse("role", t("未知角色 %(role)s", role=role))
        _check_cadre(session, principal, role, target.cadre_id)
        changes["role"] = {"from": target.role, "to": role}
        target.role = role
    if org_unit is not None and org_unit != target.org_unit_code:
        _unit_in_scope(session, principal, org_unit, "org_unit")
        changes["org_unit"] = {"from": target.org_unit_code, "to": org_unit}
        target.org_unit_code = org_unit
    if display_name is not None and checked_name(display_name) != target.display_name:
        changes["display_name"] = {"from": target.display_name, "to": checked_name(display_name)}
        target.display_name = checked_name(display_name)
    if post is not None and checked_post(post) != target.post:
        changes["post"] = {"from": target.post, "to": checked_post(post)}
        target.post = checked_post(post)
    if active is not None and active != target.active:
        changes["active"] = {"from": target.active, "to": active}
        target.active = active
    if email is not None and checked_email(email) != target.email:
        changes["email"] = {"from": target.email, "to": checked_email(email)}
        target.email = checked_email(email)
    if password is not None:
        org.set_password(target, password, hasher=hasher)
        changes["password"] = "reset"
    if unlock:
        changes["unlock"] = {
            "failed_logins": target.failed_logins,
            "locked_until": target.locked_until.isoformat() if target.locked_until else None,
        }
        target.failed_logins, target.locked_until = 0, None
    if password is not None or active is False:
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == target.id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    session.flush()
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="admin.user.update",
        object_type="user",
        object_id=target.username,
        detail={"changes": changes},
    )
    return target


# -- org units ---------------------------------------------------------------------------
def operator(session: Session, *, username: str = "cli") -> Principal:
    """Who the command line reads as when it names no user: it runs on the server with the
    database's own rights, so it sees as an administrator of every unit (and may do nothing
    that needs a clerk)."""
    found = dict(session.execute(select(OrgUnit.code, OrgUnit.parent_code)).all())
    roots = sorted(code for code, parent in found.items() if parent is None)
    return Principal(
        username=username,
        role="admin",
        org_unit=roots[0] if roots else "",
        cadre_id=None,
        units=frozenset(found),
    )


def org_units(session: Session, *, principal: Principal) -> list[OrgUnit]:
    """The administrator's unit and the units below it."""
    check_may_administer(principal)
    return list(
        session.execute(
            select(OrgUnit).where(OrgUnit.code.in_(sorted(principal.units))).order_by(OrgUnit.code)
        ).scalars()
    )


def create_org_unit(
    session: Session,
    *,
    principal: Principal,
    code: str,
    name: str,
    level: str,
    parent: str,
    clock: Clock,
) -> OrgUnit:
    """A new unit below one of the administrator's units (unique code, a level not above its
    parent's); audited."""
    check_may_administer(principal)
    parent_unit = _unit_in_scope(session, principal, parent, "parent")
    if level not in org.LEVELS:
        raise _refuse("level", t("应为以下之一：%(items)s", items=", ".join(org.LEVELS)))
    if parent_unit.level in org.LEVELS and org.LEVELS.index(level) < org.LEVELS.index(
        parent_unit.level
    ):
        raise _refuse("level", t("不能高于上级单位的层级（%(level)s）", level=parent_unit.level))
    if session.get(OrgUnit, code) is not None:
        raise _refuse("code", t("单位代码 %(code)s 已被使用", code=code))
    created = org.add_unit(session, code=code, name=name, level=level, parent_code=parent)
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action="admin.org_unit.create",
        object_type="org_unit",
        object_id=code,
        detail={"name": name, "level": level, "parent": parent},
    )
    return created


# -- settings and clock ------------------------------------------------------------------
def deadlines(session: Session) -> dict[str, int]:
    """The deadline settings in force (defaults with this deployment's overrides)."""
    return deadline_settings(session)


def put_deadlines(
    session: Session, *, values: dict[str, Any], actor: str, clock: Clock
) -> dict[str, int]:
    """Overrides some deadline settings (known keys, whole numbers 1–365); new cases use them."""
    low, high = DEADLINE_RANGE
    errors = [
        {"field": key, "message": t("不是可设置的期限")}
        for key in values
        if key not in DEADLINE_DEFAULTS
    ]
    errors += [
        {"field": key, "message": t("应为 %(low)s 到 %(high)s 之间的整数", low=low, high=high)}
        for key, value in values.items()
        if key in DEADLINE_DEFAULTS and (type(value) is not int or not low <= value <= high)
    ]
    if errors:
        raise ValidationFailed(t("期限设置有误"), errors)
    before = deadline_settings(session)
    stored = dict(settings.get(session, "deadlines", {}) or {})
    stored.update(values)
    settings.put(session, "deadlines", stored)
    changed = {
        key: {"from": before[key], "to": value}
        for key, value in values.items()
        if before[key] != value
    }
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="settings.deadlines",
        object_type="settings",
        object_id="deadlines",
        detail={"changes": changed},
    )
    return deadline_settings(session)


def move_clock(
    session: Session,
    *,
    clock: Clock,
    actor: str,
    advance: str | None = None,
    to: datetime | None = None,
) -> datetime:
    """Moves the shared clock by a duration ('31d', '2h') or to a moment; only where the clock
    is adjustable (demo and test deployments). Audited."""
    if not clock.adjustable:
        raise ClockNotAdjustable(
            t("本部署的时钟不可调整：只有演示和测试部署（CLOCK_ADJUSTABLE=1）可以调整时钟")
        )
    if (advance is None) == (to is None):
        raise _refuse("advance", t("advance（时长，如 31d）和 set（时刻）须给出且只给出一个"))
    if advance is not None:
        field = "advance"
        try:
            target = clock.now() + parse_duration(advance)
        except (ValidationFailed, OverflowError) as err:
            raise _refuse(field, t("应为数字加单位 d、h、m 或 w，如 31d、2h")) from err
        detail: dict[str, Any] = {"advance": advance}  # "by" is who acted
    else:
        assert to is not None
        field, target = "set", to if to.tzinfo is not None else to.replace(tzinfo=clock.tz)
        detail = {"to": target.isoformat()}
    if not CLOCK_YEARS[0] <= target.year <= CLOCK_YEARS[1]:
        raise _refuse(
            field,
            t(
                "时钟只能拨到 %(clock_year)s 至 %(clock_year2)s 年之间",
                clock_year=CLOCK_YEARS[0],
                clock_year2=CLOCK_YEARS[1],
            ),
        )
    moved = settings.move_clock(session, clock, to=target)
    audit.record(
        session,
        at=moved,
        actor=actor,
        action="clock.move",
        object_type="clock",
        object_id="clock",
        detail=detail,
    )
    return moved


# -- audit trail -------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    instance_id: int | None = None
    case_number: str | None = None  # the case's rows: its instance's and the case-level ones
    since: datetime | None = None
    until: datetime | None = None


def audit_scope(principal: Principal) -> ColumnElement[bool]:
    """The audit rows an administrator reads: none by users of other units, none about
    instances of other units (system actors and deployment-wide rows are everyone's)."""
    units = sorted(principal.units)
    outside_users = select(User.username).where(User.org_unit_code.not_in(units))
    outside_instances = select(Instance.id).where(
        Instance.org_unit.is_not(None), Instance.org_unit.not_in(units)
    )
    return AuditEvent.actor.not_in(outside_users) & (
        AuditEvent.instance_id.is_(None) | AuditEvent.instance_id.not_in(outside_instances)
    )


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit trail as its readers see it: codes named, the detail parsed, as
    labelled 键：值 pairs for people and as one line of JSON (keys sorted) for a list."""

    id: int
    at: datetime
    actor: str
    actor_name: str  # 姓名（单位·岗位）, or the system's own label
    action: str
    action_name: str
    object_type: str
    object_name: str
    object_id: str
    instance_id: int | None
    detail: dict[str, Any]
    form: dict[str, Any]  # the fields of the pinned form whose data the detail holds, if any
    step: str | None  # the name of the task's step, for a row about a task
    detail_pairs: tuple[audit_labels.Pair, ...]  # the detail in words: labels and data apart
    detail_text: str
    hash: str


def audit_rows(
    session: Session, *, principal: Principal, filters: AuditFilters, page: int, per_page: int
) -> paging.Page[AuditEntry]:
    """One page of the audit trail, newest first, and the number of rows matching."""
    check_may_administer(principal)
    query: Select[Any] = (
        select(AuditEvent).where(audit_scope(principal)).order_by(AuditEvent.id.desc())
    )
    for column, value in (
        (AuditEvent.actor, filters.actor),
        (AuditEvent.action, filters.action),
        (AuditEvent.object_type, filters.object_type),
        (AuditEvent.object_id, filters.object_id),
        (AuditEvent.instance_id, filters.instance_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.case_number is not None:
        query = query.where(_case_rows(session, filters.case_number))
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    found = paging.paginate(session, query, page=page, per_page=per_page, key=AuditEvent.id)
    names = people.labels(session, (row.AuditEvent.actor for row in found.items))
    steps = _steps(session, [row.AuditEvent for row in found.items])
    processes = _process_names(session)
    return found.map(lambda row: _entry(row.AuditEvent, names, steps, processes))


def _process_names(session: Session) -> dict[str, str]:
    """Every deployed process's name by its key (its latest version's), for details naming a
    process by key."""
    rows = session.execute(
        select(ProcessVersion.process_key, ProcessVersion.name).order_by(ProcessVersion.version)
    )
    return {key: name for key, name in rows}


def _steps(session: Session, rows: list[AuditEvent]) -> dict[int, tuple[str, dict[str, Any]]]:
    """Per row about a task (by row id): the step's name and the fields of its form as pinned
    in its instance's version (empty without one), so that the data reads by their titles."""
    asked = {
        r.id: int(r.object_id) for r in rows if r.object_type == "task" and r.object_id.isdigit()
    }
    if not asked:
        return {}
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    pinned = session.execute(
        select(HumanTask.id, HumanTask.name, HumanTask.form, ProcessVersion.forms_json)
        .join(Instance, Instance.id == HumanTask.instance_id)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
        .where(HumanTask.id.in_(set(asked.values())))
    )
    for task_id, name, form, forms_json in pinned:
        schema = json.loads(forms_json or "{}").get(form) if form else None
        fields = schema.get("properties") if isinstance(schema, dict) else None
        found[task_id] = (name, fields if isinstance(fields, dict) else {})
    return {row_id: found[task_id] for row_id, task_id in asked.items() if task_id in found}


def _case_rows(session: Session, number: str) -> ColumnElement[bool]:
    """The rows of the case numbered `number`: its instance's and those about the case itself
    (none when no case has that number)."""
    case = session.execute(
        select(CaseFile.id, CaseFile.instance_id).where(CaseFile.number == number)
    ).first()
    if case is None:
        return false()
    about_case = (AuditEvent.object_type == "case") & (AuditEvent.object_id == str(case.id))
    if case.instance_id is None:
        return about_case
    return about_case | (AuditEvent.instance_id == case.instance_id)


def _entry(
    r: AuditEvent,
    names: people.Labels,
    steps: dict[int, tuple[str, dict[str, Any]]],
    processes: dict[str, str],
) -> AuditEntry:
    detail = json.loads(r.detail or "{}")
    step, form = steps.get(r.id, (None, {}))
    return AuditEntry(
        id=r.id,
        at=r.at,
        actor=r.actor,
        actor_name=names[r.actor],
        action=r.action,
        action_name=audit_labels.action_label(r.action),
        object_type=r.object_type,
        object_name=audit_labels.object_label(r.object_type),
        object_id=r.object_id,
        instance_id=r.instance_id,
        detail=detail,
        form=form,
        step=step,
        detail_pairs=audit_labels.detail_view(detail, form=form, step=step, processes=processes),
        detail_text=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        hash=r.hash,
    )

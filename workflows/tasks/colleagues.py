"""Who works together on a step (DOMAIN.md §6): who may ask for opinions (加签) or copy (抄送)
— whoever may complete the step, its holder — and whom they may ask or copy.

Whom: active users other than the holder who may read the case by jurisdiction (§1: the
users of the case's unit, and the supervisors and administrators of the units above it),
never anyone recused from it (on an appeal, whoever handled or decided the original case),
never the case's own cadre, and no cadre account at all (a cadre reads only the decisions
served on them, never a step). One function judges one user (`refusal`); the pickers'
lists (`candidates`) are the users it does not refuse, so a list never offers anyone the
write would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases import appeal as appeals
from workflows.cases.models import Appeal, CaseFile
from workflows.engine import instances
from workflows.engine.models import HumanTask
from workflows.errors import Conflict, Forbidden, TaskAlreadyCompleted, ValidationFailed
from workflows.messages import t
from workflows.org import people as org_people
from workflows.org import service as org
from workflows.org.models import OrgUnit, User
from workflows.roles import ROLES

#: At most this many people in one request (加签 or 抄送).
USERS_MAX = 20
#: Roles that never read a case's steps: designers work on definitions, a cadre reads only
#: what is served on them.
NEVER_ASKED_ROLES = frozenset({"designer", "cadre"})


@dataclass(frozen=True)
class Step:
    """An open step held (or holdable) by the caller, read under its instance's lock, with its
    case; what the people around it are judged against."""

    task: HumanTask
    case: CaseFile | None
    unit: str  # the unit whose jurisdiction the case (or the step) falls under
    recused: frozenset[str]  # usernames recused from the case (回避)
    original_number: str | None  # for an appeal: the number of the case appealed


def held_step(session: Session, *, principal: Principal, task_id: int, verb: str) -> Step:
    """The open step, its instance locked, if the principal may complete it (NotFound when out
    of sight, Forbidden when it is not theirs to do, Conflict when no longer open)."""
    task = access.get_task(session, principal, task_id)
    instances.lock_instance(session, task.instance_id)
    session.refresh(task)
    if task.state == "completed":
        raise TaskAlreadyCompleted(
            t(
                "任务「%(name)s」已由%(who)s办结",
                name=task.name,
                who=org_people.label(session, task.completed_by),
            )
        )
    if task.state != "open":
        raise Conflict(t("任务「%(name)s」已取消（流程已走向别处）", name=task.name))
    try:
        access.check_may_complete(session, principal, task)
    except Forbidden as err:
        raise Forbidden(
            t("只有本步骤的办理人可以%(verb)s：%(message)s", verb=verb, message=err.message)
        ) from None
    return step_of(session, task)


def step_of(session: Session, task: HumanTask) -> Step:
    """`task` with its case, jurisdiction and recusals (no lock, no authorization)."""
    case = session.execute(
        select(CaseFile).where(CaseFile.instance_id == task.instance_id)
    ).scalar_one_or_none()
    recused: frozenset[str] = frozenset()
    original_number = None
    if case is not None:
        original_id = session.execute(
            select(Appeal.original_case_id).where(Appeal.case_id == case.id)
        ).scalar_one_or_none()
        if original_id is not None:
            recused = frozenset(appeals.conflicted(session, original_id))
            original = session.get(CaseFile, original_id)
            original_number = original.number if original is not None else str(original_id)
    unit = case.org_unit_code if case is not None else (task.org_unit or "")
    return Step(task, case, unit, recused, original_number)


def refusal(
    session: Session, step: Step, principal: Principal, user: User, *, verb: str
) -> str | None:
    """Why `user` may not be asked (加签) or copied (抄送, `verb` names which) on the step by
    `principal`; None when they may."""
    if not user.active:
        return t("用户 %(username)s 已停用", username=user.username)
    who = f"{user.display_name}（{user.username}）"
    if user.username == principal.username:
        return t("不能%(verb)s自己", verb=verb)
    if user.role in NEVER_ASKED_ROLES:
        return t(
            "%(who)s 是%(role)s账号，不办理案件步骤，不能%(verb)s",
            who=who,
            role=ROLES.get(user.role, user.role),
            verb=verb,
        )
    if (
        step.case is not None
        and step.case.cadre_id is not None
        and user.cadre_id == step.case.cadre_id
    ):
        return t(
            "回避：%(who)s 是案件 %(number)s 的当事干部，不能%(verb)s",
            who=who,
            number=step.case.number,
            verb=verb,
        )
    if user.username in step.recused:
        return t(
            "回避：%(who)s 办理或决定过原案件 %(original_number)s，不能就其申诉案件%(verb)s",
            who=who,
            original_number=step.original_number,
            verb=verb,
        )
    if user.org_unit_code not in _readers_units(session, step.unit, user.role):
        return t(
            "%(who)s 是 %(org_unit_code)s 的%(role)s人员，无权查看 %(unit)s 管辖的本案，不能%(verb)s",
            who=who,
            org_unit_code=user.org_unit_code,
            role=ROLES.get(user.role, user.role),
            unit=step.unit,
            verb=verb,
        )
    return None


def candidates(
    session: Session, step: Step, principal: Principal, *, verb: str
) -> list[org_people.Person]:
    """Everyone `refusal` lets the principal ask or copy on the step, by name."""
    units = _ancestors(session, step.unit)
    found = session.execute(
        select(User)
        .where(User.active.is_(True), User.org_unit_code.in_(units))
        .order_by(User.org_unit_code, User.role, User.display_name, User.username)
    ).scalars()
    allowed = [u for u in found if refusal(session, step, principal, u, verb=verb) is None]
    names = org.unit_names(session, (u.org_unit_code for u in allowed))
    return [org_people.person_of(u, names.get(u.org_unit_code)) for u in allowed]


def chosen(
    session: Session, step: Step, principal: Principal, usernames: Sequence[str], *, verb: str
) -> list[User]:
    """The users named, each one the principal may ask or copy on the step; ValidationFailed on
    `users` naming each who may not (none at all, more than USERS_MAX, twice, unknown too)."""
    names = [str(u).strip() for u in usernames]
    message = None
    if not names or any(not n for n in names):
        message = t("请选择%(verb)s的人员（1–%(limit)s 人）", verb=verb, limit=USERS_MAX)
    elif len(names) > USERS_MAX:
        message = t(
            "一次最多%(verb)s %(limit)s 人：所选为 %(count)s 人",
            verb=verb,
            limit=USERS_MAX,
            count=len(names),
        )
    else:
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            message = t("人员重复：%(names)s", names="、".join(twice))
    if message is not None:
        raise ValidationFailed(message, [{"field": "users", "message": message}])
    found = {
        u.username: u
        for u in session.execute(select(User).where(User.username.in_(names))).scalars()
    }
    problems = []
    for name in names:
        user = found.get(name)
        why = (
            t("用户 %(name)s 不存在", name=name)
            if user is None
            else refusal(session, step, principal, user, verb=verb)
        )
        if why is not None:
            problems.append({"field": "users", "message": why})
    if problems:
        raise ValidationFailed("；".join(p["message"] for p in problems), problems)
    return [found[name] for name in names]


def _readers_units(session: Session, unit: str, role: str) -> list[str]:
    """The units whose users of `role` read a case of `unit` by jurisdiction (§1)."""
    return _ancestors(session, unit) if role in access.OVERSEEING_ROLES else [unit]


def _ancestors(session: Session, unit: str) -> list[str]:
    """`unit` and every unit above it."""
    found, code = [], unit
    while code and code not in found:
        found.append(code)
        code = (
            session.execute(
                select(OrgUnit.parent_code).where(OrgUnit.code == code)
            ).scalar_one_or_none()
            or ""
        )
    return found

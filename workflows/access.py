"""Object-level authorization (DOMAIN.md §1 Jurisdiction, Separation of duties).

Every read and write of a case or task goes through these checks, not only the UI.
What a principal may not see does not exist for them: out-of-scope objects raise the
same NotFound as missing ones (404, never 403), so no one learns another unit's cases.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, false, or_, select
from sqlalchemy.orm import Session

from workflows.cadres.models import Cadre
from workflows.cases import appeal as appeals
from workflows.cases.models import Appeal, CaseFile
from workflows.engine import versions
from workflows.engine.models import HumanTask, table_of
from workflows.engine.prepared import Prepared, Rows
from workflows.errors import Forbidden, NotFound
from workflows.messages import t
from workflows.org import people
from workflows.org import service as org
from workflows.org.models import OrgUnit, User
from workflows.roles import ROLES

# Roles that see the units below their own (§1: a supervisor or admin of a higher unit).
OVERSEEING_ROLES = frozenset({"supervisor", "admin"})
#: Row ids are 32-bit: a larger id names nothing (and PostgreSQL refuses to compare it).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Principal:
    """Who is acting: role, org unit, own cadre record, and the org units they see."""

    username: str
    role: str
    org_unit: str
    cadre_id: int | None  # a cadre user's record; also set for officials who are cadres themselves
    units: frozenset[str]
    person: people.Person | None = None  # named, when read with the session or token

    @property
    def label(self) -> str | None:
        """姓名（单位·岗位）, when read with the session or token."""
        return self.person.label if self.person is not None else None


def principal_for(session: Session, *, username: str) -> Principal:
    """The principal of an active user; NotFound for unknown or inactive users."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(t("用户 %(username)s 不存在", username=username))
    return principal_of(session, user)


class Person(Protocol):
    """A user as a principal is made of: a `User` row, or the account read with a session."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def org_unit_code(self) -> str: ...
    @property
    def cadre_id(self) -> int | None: ...


def principal_of(session: Session, user: Person) -> Principal:
    """The principal of a user already loaded (and known to be active)."""
    units = (
        org.subtree(session, user.org_unit_code)
        if user.role in OVERSEEING_ROLES
        else [user.org_unit_code]
    )
    return Principal(
        username=user.username,
        role=user.role,
        org_unit=user.org_unit_code,
        cadre_id=user.cadre_id,
        units=frozenset(units),
        person=getattr(user, "person", None),
    )


def case_scope(principal: Principal) -> ColumnElement[bool]:
    """The cases this principal may see, as a clause over CaseFile."""
    if principal.role == "cadre":
        if principal.cadre_id is None:
            return false()
        return CaseFile.cadre_id == principal.cadre_id
    if principal.role == "designer":  # designers work on definitions, never on cases
        return false()
    return CaseFile.org_unit_code.in_(sorted(principal.units))


def task_scope(principal: Principal) -> ColumnElement[bool]:
    """The tasks whose queue this principal may see, as a clause over HumanTask."""
    kind, values = task_scope_values(principal)
    return _scope_clause(kind, values)


def task_scope_values(principal: Principal) -> tuple[str, dict[str, Any]]:
    """`task_scope` in two parts, for statements built once and run with parameters: the kind
    of clause (`bound_task_scope`'s argument) and the values of its parameters."""
    if principal.role == "cadre":
        if principal.cadre_id is None:
            return "none", {}
        return "cadre", {"scope_cadre": principal.cadre_id}
    if principal.role == "designer":
        return "none", {}
    return "units", {"scope_units": sorted(principal.units)}


@functools.cache
def bound_task_scope(kind: str) -> ColumnElement[bool]:
    """The clause of `task_scope` for a kind of principal, its values left as parameters
    (`scope_cadre`, `scope_units`): made once, the same object every time."""
    return _scope_clause(kind, None)


def _scope_clause(kind: str, values: dict[str, Any] | None) -> ColumnElement[bool]:
    """The one rule behind `task_scope` (`values` bound in) and `bound_task_scope` (None: left
    as parameters)."""

    def param(name: str, **kw: Any) -> Any:
        return bindparam(name, **kw) if values is None else bindparam(name, values[name], **kw)

    if kind == "cadre":
        own_instances = select(CaseFile.instance_id).where(
            CaseFile.cadre_id == param("scope_cadre"), CaseFile.instance_id.is_not(None)
        )
        return (HumanTask.role == "cadre") & HumanTask.instance_id.in_(own_instances)
    if kind == "units":
        return HumanTask.org_unit.in_(param("scope_units", expanding=True))
    return false()


def task_visible(
    principal: Principal, *, role: str | None, org_unit: str | None, case_cadre_id: int | None
) -> bool:
    """`task_scope` for one task already read, with the cadre of its case (None without a
    case): the same rule, evaluated without a query. Keep the two in step."""
    if principal.role == "cadre":
        return (
            principal.cadre_id is not None
            and role == "cadre"
            and case_cadre_id == principal.cadre_id
        )
    if principal.role == "designer":
        return False
    return org_unit in principal.units


def get_case(session: Session, principal: Principal, case_id: int) -> CaseFile:
    """The case if this principal may see it; NotFound otherwise, as if it did not exist."""
    if not 0 < case_id <= MAX_ID:
        raise NotFound(t("案件 %(case_id)s 不存在", case_id=case_id))
    case = session.execute(
        select(CaseFile).where(CaseFile.id == case_id, case_scope(principal))
    ).scalar_one_or_none()
    if case is None:
        raise NotFound(t("案件 %(case_id)s 不存在", case_id=case_id))
    return case


def granted_scope(principal: Principal) -> ColumnElement[bool]:
    """The cases this principal reads because of working together on a step (DOMAIN.md §6), as
    a clause over CaseFile: asked for an opinion (加签) — while the request is open, and for
    good once they answered — or copied (抄送). A grant to read that case only: every write
    keeps its own rule, and no other case is opened by it."""
    # Imported here: the tasks package's modules read this one (a cycle at import time).
    from workflows.tasks.models import (
        CONSULTATION_OPEN,
        Consultation,
        ConsultationOpinion,
        TaskCopy,
    )

    asked = (
        select(Consultation.case_id)
        .join(ConsultationOpinion, ConsultationOpinion.consultation_id == Consultation.id)
        .where(
            ConsultationOpinion.username == principal.username,
            Consultation.case_id.is_not(None),
            or_(
                Consultation.state == CONSULTATION_OPEN,
                ConsultationOpinion.answered_at.is_not(None),
            ),
        )
    )
    copied = select(TaskCopy.case_id).where(
        TaskCopy.username == principal.username, TaskCopy.case_id.is_not(None)
    )
    return or_(CaseFile.id.in_(asked), CaseFile.id.in_(copied))


def get_case_to_read(session: Session, principal: Principal, case_id: int) -> CaseFile:
    """The case if this principal may read it: by jurisdiction (`get_case`), or by a grant of
    `granted_scope`; NotFound otherwise. For reads only (the case page, its documents): a
    write asks `get_case` and its own rule."""
    if not 0 < case_id <= MAX_ID:
        raise NotFound(t("案件 %(case_id)s 不存在", case_id=case_id))
    case = session.execute(
        select(CaseFile).where(
            CaseFile.id == case_id, or_(case_scope(principal), granted_scope(principal))
        )
    ).scalar_one_or_none()
    if case is None:
        raise NotFound(t("案件 %(case_id)s 不存在", case_id=case_id))
    return case


def cadre_scope(principal: Principal) -> ColumnElement[bool]:
    """The cadre records this principal may see, as a clause over Cadre: those of the units
    they see (never for designers), and their own."""
    own = Cadre.id == principal.cadre_id if principal.cadre_id is not None else false()
    if principal.role in ("cadre", "designer"):
        return own
    return or_(Cadre.org_unit_code.in_(sorted(principal.units)), own)


def get_cadre(session: Session, principal: Principal, cadre_id: int) -> Cadre:
    """The cadre record if this principal may see it; NotFound otherwise, as if it did not exist."""
    if not 0 < cadre_id <= MAX_ID:
        raise NotFound(t("干部 %(cadre_id)s 不存在", cadre_id=cadre_id))
    cadre = session.execute(
        select(Cadre).where(Cadre.id == cadre_id, cadre_scope(principal))
    ).scalar_one_or_none()
    if cadre is None:
        raise NotFound(t("干部 %(cadre_id)s 不存在", cadre_id=cadre_id))
    return cadre


def get_task(session: Session, principal: Principal, task_id: int) -> HumanTask:
    """The task if this principal may see it; NotFound otherwise, as if it did not exist."""
    if not 0 < task_id <= MAX_ID:
        raise NotFound(t("任务 %(task_id)s 不存在", task_id=task_id))
    task = session.execute(
        select(HumanTask).where(HumanTask.id == task_id, task_scope(principal))
    ).scalar_one_or_none()
    if task is None:
        raise NotFound(t("任务 %(task_id)s 不存在", task_id=task_id))
    return task


class TaskRef(Protocol):
    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class TaskFacts:
    """A task as the database has it now, with what authorization needs of its case."""

    id: int
    instance_id: int
    role: str | None
    org_unit: str | None
    assignee: str | None
    state: str
    case_id: int | None
    case_number: str | None
    case_cadre_id: int | None
    appealed_case_id: int | None  # for an appeal case: the case it appeals against
    # What views of the instance's tasks show besides (a completion's next tasks are named
    # with them, without a read of their own): the case's subject and title, the names of the
    # task's unit and of its process (the newest version's, as the queues name it).
    subject_name: str | None = None
    case_title: str | None = None
    org_unit_name: str | None = None
    process_name: str | None = None


_T, _C, _A = table_of(HumanTask), table_of(CaseFile), table_of(Appeal)
_U = table_of(OrgUnit)
#: The task and its case as authorization reads them (`task_facts`); the completion reads it
#: with the instance lock (`instances.complete_task`'s `reads`).
TASK_FACTS = Prepared(
    "access.task_facts",
    select(
        _T.c.id,
        _T.c.instance_id,
        _T.c.role,
        _T.c.org_unit,
        _T.c.assignee,
        _T.c.state,
        _C.c.id.label("case_id"),
        _C.c.number.label("case_number"),
        _C.c.cadre_id.label("case_cadre_id"),
        _A.c.original_case_id.label("appealed_case_id"),
        _C.c.subject_name,
        _C.c.title.label("case_title"),
        _U.c.name.label("org_unit_name"),
        versions.newest_name(_T).label("process_name"),
    )
    .select_from(
        _T.outerjoin(_C, _C.c.instance_id == _T.c.instance_id)
        .outerjoin(_A, _A.c.case_id == _C.c.id)
        .outerjoin(_U, _U.c.code == _T.c.org_unit)
    )
    .where(_T.c.id == bindparam("tid")),
)


def task_facts(session: Session, task_id: int) -> TaskFacts | None:
    """The task as the database has it now, with what authorization needs of its case (one
    statement); None when there is no such task."""
    if not 0 < task_id <= MAX_ID:
        return None
    return facts_of(TASK_FACTS.execute(session.connection(), {"tid": task_id}))


def facts_of(rows: Rows) -> TaskFacts | None:
    """The facts `TASK_FACTS` read (None when there is no such task)."""
    row = rows.first()
    return TaskFacts(**row._mapping) if row is not None else None


def check_may_complete(
    session: Session,
    principal: Principal,
    task: TaskRef,
    *,
    ignore_assignment: bool = False,
    read: Rows | None = None,
) -> TaskFacts:
    """NotFound unless the task is visible; Forbidden unless this principal may complete it.

    The task is read again (one statement, with its case), so the answer holds for the task
    as it is now: called under the instance lock, no claim or transfer can slip in between.
    `read`: what `TASK_FACTS` returned under that lock, when the caller read it already.
    `ignore_assignment` asks whether they could if the task were assigned to them (claim,
    delegate, transfer): role, org unit and recusal still apply. Returns what was read."""
    facts = task_facts(session, task.id) if read is None else facts_of(read)
    refused = (
        NotFound(t("任务 %(task_id)s 不存在", task_id=task.id))
        if facts is None
        else work_refusal(
            session,
            principal,
            facts,
            ignore_assignment=ignore_assignment,
            holder=(  # named only when it is someone else's
                people.label(session, facts.assignee)
                if facts.assignee and facts.assignee != principal.username
                else None
            ),
        )
    )
    if refused is not None:
        raise refused
    assert facts is not None
    return facts


def work_refusal(
    session: Session,
    principal: Principal,
    facts: TaskFacts,
    *,
    ignore_assignment: bool = False,
    holder: str | None = None,
) -> NotFound | Forbidden | None:
    """Why this principal may not complete the task of `facts` (None when they may): the rule
    `check_may_complete` enforces, for facts already read (a queue page's rows). Only an
    appeal case's task costs a query (who handled the original case). `holder`: how the
    message names whoever holds the task (姓名（单位·岗位）), else by username."""
    if not task_visible(
        principal, role=facts.role, org_unit=facts.org_unit, case_cadre_id=facts.case_cadre_id
    ):
        return NotFound(t("任务 %(task_id)s 不存在", task_id=facts.id))
    if principal.role != facts.role:
        return Forbidden(
            t(
                "本任务由%(role)s办理：%(who)s不能办理",
                role=_role_name(facts.role),
                who=_who(principal),
            )
        )
    # A cadre's own cases are scoped by ownership, not by unit: their record may have moved.
    if principal.role != "cadre" and principal.org_unit != facts.org_unit:
        return Forbidden(
            t(
                "§11 本任务属 %(org_unit)s 管辖，由该单位的%(role)s办理：%(who)s不能办理",
                org_unit=facts.org_unit,
                role=_role_name(facts.role),
                who=_who(principal),
            )
        )
    if not ignore_assignment and facts.assignee and facts.assignee != principal.username:
        return Forbidden(
            t("本任务已指定由%(value)s办理：你不能办理", value=holder or facts.assignee)
        )
    if facts.case_id is None:
        return None
    if (
        principal.cadre_id is not None
        and facts.case_cadre_id == principal.cadre_id
        and facts.role != "cadre"
    ):
        return Forbidden(
            t(
                "回避：%(username)s 是案件 %(case_number)s 的当事干部，只能以干部本人身份办理",
                username=principal.username,
                case_number=facts.case_number,
            )
        )
    original = appeal_conflict(session, principal, facts.appealed_case_id)
    if original is not None:
        return Forbidden(
            t(
                "回避：%(username)s 办理或决定过原案件 %(original)s，不得办理其申诉案件 %(case_number)s 的任务",
                username=principal.username,
                original=original,
                case_number=facts.case_number,
            )
        )
    return None


def _who(principal: Principal) -> str:
    return f"{principal.username}（{principal.org_unit} 的{_role_name(principal.role)}人员）"


def appeal_conflict(
    session: Session, principal: Principal, original_case_id: int | None
) -> str | None:
    """回避 on an appeal: the number of the original case when the principal handled or
    decided it (so keeps out of its appeal), else None (also for a case that appeals nothing)."""
    if original_case_id is None or principal.username not in appeals.conflicted(
        session, original_case_id
    ):
        return None
    original = session.get(CaseFile, original_case_id)
    return original.number if original is not None else str(original_case_id)


def check_may_deploy(principal: Principal) -> None:
    """Only process designers deploy BPMN, DMN and forms."""
    if principal.role != "designer":
        raise Forbidden(
            t(
                "只有流程设计人员可以部署流程定义：%(username)s 是%(role)s人员",
                username=principal.username,
                role=_role_name(principal.role),
            )
        )


def check_may_export(principal: Principal) -> None:
    """Exports (the queue, the case list) are the officials' tools; a cadre reads their own
    cases on 我的案件 (DOMAIN.md §6)."""
    if principal.role == "cadre":
        raise Forbidden(t("导出是办理人员的功能：干部本人请在“我的案件”查看自己的案件"))


def check_may_supervise(principal: Principal) -> None:
    """Only supervisors (督查, §20) and administrators watch deadlines across their units."""
    if principal.role not in OVERSEEING_ROLES:
        raise Forbidden(
            t(
                "只有督查人员可以查看督查汇总和逾期清单：%(username)s 是%(role)s人员",
                username=principal.username,
                role=_role_name(principal.role),
            )
        )


def may_administer(principal: Principal) -> bool:
    """Whether `principal` is an administrator: manages users, org units, calendar and
    settings, and reads the audit trail."""
    return principal.role == "admin"


def check_may_administer(principal: Principal) -> None:
    """Only administrators manage users, org units, calendar and settings."""
    if not may_administer(principal):
        raise Forbidden(
            t(
                "只有系统管理人员可以管理用户、机构、日历和设置：%(username)s 是%(role)s人员",
                username=principal.username,
                role=_role_name(principal.role),
            )
        )


def _role_name(role: str | None) -> str:
    return ROLES.get(role or "", role or "未定角色")

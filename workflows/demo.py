"""Demo data for `make run`: 安徽省 with two cities and four counties, their users and
cadres, and cases in different states, made through the real services.

Loading is idempotent. The units, users and cadres are made once (org unit 'ah' marks
them); each case scenario is its own transaction and is remembered in the setting
`demo.scenarios`, so a second load adds nothing — except scenarios whose process was
not deployed the first time, which are then loaded. A scenario whose process is not
deployed, or which the process refuses, is skipped and reported, never half stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.cadres.models import Cadre
from workflows.cases import service as cases
from workflows.definitions import deployment
from workflows.demo_staff import second_clerks, staff
from workflows.engine import audit, functions, instances, settings
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.engine.models import CalendarYear, HumanTask
from workflows.errors import NotFound
from workflows.messages import t
from workflows.org import service as org
from workflows.org.models import OrgUnit
from workflows.roles import ROLES
from workflows.tasks import service as work

#: The one password of every demo user (documented in the README; never use it in production).
PASSWORD = "cadreflow-demo"
MARKER = "demo.scenarios"
UNITS = [
    ("ah", "安徽省", "province", None),
    ("ah-hf", "合肥市", "city", "ah"),
    ("ah-wh", "芜湖市", "city", "ah"),
    ("ah-hf-fd", "肥东县", "county", "ah-hf"),
    ("ah-hf-fx", "肥西县", "county", "ah-hf"),
    ("ah-wh-nl", "南陵县", "county", "ah-wh"),
    ("ah-wh-fc", "繁昌区", "county", "ah-wh"),
]
#: username: (name, post, managing unit)
CADRES = {
    "chenming": ("陈明", "合肥市发展改革委主任", "ah-hf"),
    "zhoulixin": ("周立新", "合肥市生态环境局局长", "ah-hf"),
    "wangjianguo": ("王建国", "肥东县撮镇镇党委书记", "ah-hf-fd"),
    "liufang": ("刘芳", "肥西县上派镇镇长", "ah-hf-fx"),
    "zhaolei": ("赵磊", "芜湖市住房城乡建设局局长", "ah-wh"),
    "sunzhiqiang": ("孙志强", "南陵县籍山镇党委书记", "ah-wh-nl"),
    "wujing": ("吴静", "繁昌区孙村镇镇长", "ah-wh-fc"),
}
CALENDAR_NOTE = "暂按周一至周五，待国务院办公厅通知"


@dataclass
class Loaded:
    base_created: bool = False
    loaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def nothing_new(self) -> bool:
        return not self.base_created and not self.loaded


class _Demo:
    """What a scenario needs: the session, the clock, the cadres, and a way to act."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session, self.clock = session, clock
        self.cadres = {c.name: c for c in session.execute(select(Cadre)).scalars()}
        self.calendar = functions.load_calendar(session)

    def workdays_ago(self, n: int) -> str:
        return self.calendar.add_workdays(self.clock.today(), -n).isoformat()

    def workdays_ahead(self, n: int) -> str:
        return self.calendar.add_workdays(self.clock.today(), n).isoformat()

    def today(self) -> str:
        return self.clock.today().isoformat()

    def earlier(self, workdays: int) -> _Demo:
        """The same scenario acted `workdays` working days ago (a clock of its own, shifted
        back; the shared clock does not move): steps made available then are due earlier."""
        day = self.calendar.add_workdays(self.clock.today(), -workdays)
        past = Clock(adjustable=True, tz=str(self.clock.tz))
        past.set_offset(self.clock.offset - (self.clock.today() - day))
        return _Demo(self.session, past)

    def principal(self, username: str) -> access.Principal:
        return access.principal_for(self.session, username=username)

    def task_of(self, instance_id: int | None, element: str) -> HumanTask:
        task = self.session.execute(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.task_spec == element,
                HumanTask.state == "open",
            )
        ).scalar_one()
        return task

    def open(
        self, kind: str, cadre: str, title: str, data: dict[str, Any], role: str
    ) -> cases.CaseFile:
        subject = self.cadres[cadre]
        return cases.open_case(
            self.session,
            kind=kind,
            subject=cases.Subject(cadre_id=subject.id),
            title=title,
            data=data,
            actor=f"{role}.{subject.org_unit_code}",
            clock=self.clock,
        )

    def start(self, process: str, org_unit: str, data: dict[str, Any] | None = None) -> int:
        version = deployment.latest(self.session, process_key=process)
        return instances.start(
            self.session,
            version=version,
            data=data or {},
            org_unit=org_unit,
            actor=f"organization.{org_unit}",
            clock=self.clock,
        ).id

    def complete(
        self, instance_id: int | None, element: str, data: dict[str, Any], user: str
    ) -> None:
        task = (
            self.session.execute(
                select(HumanTask)
                .where(
                    HumanTask.instance_id == instance_id,
                    HumanTask.task_spec == element,
                    HumanTask.state == "open",
                )
                .order_by(HumanTask.id)
            )
            .scalars()
            .first()
        )
        if task is None:
            raise NotFound(
                t(
                    "流程实例 %(instance_id)s 中没有待办步骤 %(element)r",
                    instance_id=instance_id,
                    element=element,
                )
            )
        instances.complete_task(
            self.session, task_id=task.id, data=data, actor=user, clock=self.clock
        )


def _accountability_overdue(d: _Demo) -> None:
    """Registered 40 working days ago: the investigation, 10 working days overdue, stays with
    its investigator (claimed), urged once and escalated once with a 督办期限."""
    case = d.open(
        "accountability",
        "陈明",
        "审计发现专项资金闲置问题问责",
        {
            "source": "audit",
            "facts": "审计发现专项资金闲置两年未使用",
            "evidence": "审计报告及整改通知书",
        },
        "discipline",
    )
    d.complete(
        case.instance_id, "register", {"registered_on": d.workdays_ago(40)}, "discipline.ah-hf"
    )
    investigate = d.task_of(case.instance_id, "investigate")
    holder = d.principal("discipline.ah-hf")
    work.claim(d.session, principal=holder, task_id=investigate.id, clock=d.clock)
    supervisor = d.principal("supervisor.ah-hf")
    work.urge(
        d.session,
        principal=supervisor,
        task_id=investigate.id,
        note="责任调查已逾期，请抓紧办理并报告进展",
        clock=d.clock,
    )
    work.escalate(
        d.session,
        principal=supervisor,
        task_id=investigate.id,
        note="逾期未办结，督办上报，请于督办期限内办结",
        clock=d.clock,
        until=date.fromisoformat(d.workdays_ahead(5)),
    )


def _accountability_decided(d: _Demo) -> None:
    """Investigated, no tolerance circumstances, decided (transfer), served: in the appeal window."""
    case = d.open(
        "accountability",
        "王建国",
        "巡察发现违规审批问题问责",
        {
            "source": "inspection_tour",
            "facts": "巡察发现违规审批集体土地流转",
            "evidence": "巡察反馈意见及审批档案",
        },
        "discipline",
    )
    user = "discipline.ah-hf-fd"
    d.complete(case.instance_id, "register", {"registered_on": d.workdays_ago(25)}, user)
    d.complete(
        case.instance_id,
        "investigate",
        {
            "findings": "违反审批程序，负直接责任",
            "responsibility": "direct",
            "investigated_on": d.workdays_ago(10),
        },
        user,
    )
    d.complete(
        case.instance_id,
        "consider_tolerance",
        {
            "consideration": "none",
            "no_tolerance_reason": "明知程序要求仍违规审批，不属于改革创新中的失误",
        },
        user,
    )
    d.complete(
        case.instance_id,
        "decide",
        {
            "outcome": "adjustment",
            "adjustment": "transfer",
            "reason": "违规审批造成不良影响，予以调离岗位",
            "decided_on": d.workdays_ago(5),
        },
        "committee.ah-hf-fd",
    )
    d.complete(
        case.instance_id,
        "notify",
        {"received_on": d.workdays_ago(3), "delivery": "in_person"},
        "organization.ah-hf-fd",
    )


def _tolerance_awaiting_approval(d: _Demo) -> None:
    """An exemption application analysed and determined 8 working days ago: the committee's
    approval (10 working days) falls due within days."""
    d = d.earlier(8)
    case = d.open(
        "tolerance_review",
        "赵磊",
        "老旧小区改造先行先试免责申请",
        {
            "origin": "application",
            "applicant": "unit",
            "reasons": "为加快老旧小区改造先行先试，未谋私利，已主动补救",
            "facts": "改造项目招标程序简化导致工期延误",
        },
        "unit",
    )
    user = "discipline.ah-wh"
    d.complete(
        case.instance_id,
        "accept",
        {"acceptance": "accept", "verification": "skip", "skip_reason": "事实清楚，审计报告已载明"},
        user,
    )
    analysis: dict[str, Any] = {}
    for key in ("motive", "conditions", "procedure", "nature", "consequences", "recovery"):
        analysis[key], analysis[f"{key}_reason"] = "favourable", "经集体研究，见审计报告"
    for key in ("pioneering", "exploratory", "unintentional"):
        analysis[f"distinction_{key}"], analysis[f"distinction_{key}_note"] = (
            True,
            "先行先试，未谋私利",
        )
    d.complete(case.instance_id, "analyse", analysis, user)
    d.complete(
        case.instance_id,
        "determine",
        {"opinion": "exempt", "opinion_reason": "符合容错情形，建议免责"},
        user,
    )


def _rectification_reminder_due(d: _Demo) -> None:
    """Requirements due in 3 working days: the 5-day reminder is a notification to the unit at
    the first sweep (no task to claim)."""
    case = d.open(
        "rectification",
        "孙志强",
        "第一种形态：及时纠正工作作风问题",
        {"basis": "first_form"},
        "discipline",
    )
    d.complete(
        case.instance_id,
        "issue_discipline",
        {"requirements": "限期整改会议纪要不规范问题", "deadline": d.workdays_ahead(3)},
        "discipline.ah-wh-nl",
    )
    d.complete(
        case.instance_id,
        "plan",
        {"plan": "逐项整改并建立台账", "plan_submitted_on": d.today()},
        "unit.ah-wh-nl",
    )


def _clarification_awaiting_verification(d: _Demo) -> None:
    """A cadre's own request for clarification, waiting for verification."""
    d.open(
        "clarification",
        "刘芳",
        "澄清正名申请",
        {"report": "网帖反映其在征迁中优亲厚友", "trigger": "cadre_request"},
        "discipline",
    )


def _clarification_done(d: _Demo) -> None:
    """Found untrue and clarified within the unit: closed."""
    case = d.open(
        "clarification",
        "吴静",
        "澄清正名",
        {"report": "匿名信反映其违规发放补贴", "trigger": "unit_request"},
        "discipline",
    )
    d.complete(
        case.instance_id,
        "verify",
        {
            "finding": "untrue",
            "verified_on": d.today(),
            "reason": "经核查补贴发放台账和银行流水，查无实据",
        },
        "discipline.ah-wh-fc",
    )
    d.complete(
        case.instance_id,
        "clarify",
        {
            "form": "meeting",
            "scope": "unit",
            "done_on": d.today(),
            "content": "在镇干部大会上通报核查结果，为其澄清正名",
        },
        "organization.ah-wh-fc",
    )


def _false_accusation(d: _Demo) -> None:
    """A fabricated accusation: clarified, the accuser held accountable and blacklisted."""
    case = d.open(
        "clarification",
        "周立新",
        "澄清正名",
        {"report": "实名举报其在环评审批中收受财物", "trigger": "cadre_request"},
        "discipline",
    )
    d.complete(
        case.instance_id,
        "verify",
        {
            "finding": "untrue",
            "verified_on": d.today(),
            "reason": "经核实，举报所称收受财物一事纯属捏造",
            "fabricated": True,
        },
        "discipline.ah-hf",
    )
    d.complete(
        case.instance_id,
        "clarify",
        {
            "form": "written_notice",
            "scope": "spread",
            "spread_description": "举报信抄送的市直各部门",
            "done_on": d.today(),
            "content": "向举报信抄送单位书面通报核实结果",
        },
        "organization.ah-hf",
    )
    d.complete(
        case.instance_id,
        "pursue",
        {
            "accuser_name": "钱某",
            "facts": "钱某因个人诉求未满足，捏造收受财物情节多次实名举报",
            "evidence": "核实笔录、监控录像",
            "impact": "举报信在市直部门传播，造成恶劣影响",
            "blacklist_reason": "捏造事实、虚假告发干部，造成恶劣影响",
        },
        "discipline.ah-hf",
    )


def _assessment_commendation(d: _Demo) -> None:
    """An excellent assessment grade waiting for commendation."""
    instance_id = d.start("assessment_outcomes", "ah-hf")
    d.complete(
        instance_id,
        "record",
        {
            "assessed_cadre_id": d.cadres["周立新"].id,
            "assessment_year": d.clock.today().year - 1,
            "grade": "excellent",
        },
        "organization.ah-hf",
    )


def _periodic(d: _Demo) -> None:
    """The yearly talks of the province and both cities, and the biennial selection."""
    for unit in ("ah", "ah-hf", "ah-wh"):
        d.start("yearly_talks", unit)
    d.start("typical_selection", "ah")


#: name → (processes it needs, what it makes)
SCENARIOS: dict[str, tuple[tuple[str, ...], Callable[[_Demo], None]]] = {
    "accountability_overdue": (("accountability",), _accountability_overdue),
    "accountability_decided": (("accountability",), _accountability_decided),
    "tolerance_awaiting_approval": (("tolerance_review",), _tolerance_awaiting_approval),
    "rectification_reminder_due": (("rectification",), _rectification_reminder_due),
    "clarification_awaiting_verification": (
        ("clarification",),
        _clarification_awaiting_verification,
    ),
    "clarification_done": (("clarification",), _clarification_done),
    "false_accusation": (("clarification", "accountability"), _false_accusation),
    "assessment_commendation": (("assessment_outcomes",), _assessment_commendation),
    "periodic": (("yearly_talks", "typical_selection"), _periodic),
}


class _HashedOnce(PasswordHasher):
    """The deployment's hasher (same argon2 parameters), hashing each password once: every demo
    user has the published PASSWORD, so a salt per user protects nothing, and hashing it once
    instead of for each of the ~80 users turns half a minute of `demo load` into a second."""

    def __init__(self, hasher: PasswordHasher) -> None:
        super().__init__(
            time_cost=hasher.time_cost,
            memory_cost=hasher.memory_cost,
            parallelism=hasher.parallelism,
            hash_len=hasher.hash_len,
            salt_len=hasher.salt_len,
            encoding=hasher.encoding,
            type=hasher.type,
        )
        self._hashes: dict[str | bytes, str] = {}

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if salt is not None:
            return super().hash(password, salt=salt)
        if password not in self._hashes:
            self._hashes[password] = super().hash(password)
        return self._hashes[password]


def _make_base(session: Session, clock: Clock, hasher: PasswordHasher) -> None:
    hasher = _HashedOnce(hasher)
    for code, name, level, parent in UNITS:
        org.add_unit(session, code=code, name=name, level=level, parent_code=parent)
    officials = staff(UNITS)
    for code, _name, _level, _parent in UNITS:
        for role in ROLES:
            if role != "cadre":
                person, post = officials[(code, role)]
                org.add_user(
                    session,
                    username=f"{role}.{code}",
                    display_name=person,
                    post=post,
                    password=PASSWORD,
                    role=role,
                    org_unit_code=code,
                    clock=clock,
                    hasher=hasher,
                )
    for (code, role), (person, post) in second_clerks(UNITS).items():
        org.add_user(
            session,
            username=f"{role}2.{code}",
            display_name=person,
            post=post,
            password=PASSWORD,
            role=role,
            org_unit_code=code,
            clock=clock,
            hasher=hasher,
        )
    for username, (name, post, unit) in CADRES.items():
        cadre = Cadre(name=name, post=post, org_unit_code=unit, created_at=clock.now())
        session.add(cadre)
        session.flush()
        org.add_user(
            session,
            username=username,
            display_name=name,
            post=post,
            password=PASSWORD,
            role="cadre",
            org_unit_code=unit,
            clock=clock,
            hasher=hasher,
            cadre_id=cadre.id,
        )
    if session.get(CalendarYear, 2027) is None:
        session.add(CalendarYear(year=2027, note=CALENDAR_NOTE))
        audit.record(
            session,
            at=clock.now(),
            actor="demo",
            action="calendar.declare_year",
            object_type="calendar",
            object_id="2027",
            detail={"note": CALENDAR_NOTE},
        )
    audit.record(
        session,
        at=clock.now(),
        actor="demo",
        action="demo.load",
        object_type="demo",
        object_id="base",
        detail={"units": len(UNITS), "cadres": len(CADRES)},
    )


def _missing_processes(session: Session, needed: tuple[str, ...]) -> list[str]:
    missing = []
    for key in needed:
        try:
            deployment.latest(session, process_key=key)
        except NotFound:
            missing.append(key)
    return missing


def load(
    db: Database, clock: Clock, *, hasher: PasswordHasher, echo: Callable[[str], None] = print
) -> Loaded:
    """Loads what is not loaded yet; each scenario in its own transaction."""
    result = Loaded()
    with db.transaction() as session:
        settings.sync_clock(session, clock)
        if session.get(OrgUnit, "ah") is None:
            _make_base(session, clock, hasher)
            result.base_created = True
            echo(
                f"created {len(UNITS)} org units, {len(CADRES)} cadres and their users "
                f"(password {PASSWORD})"
            )
    for name, (needed, make) in SCENARIOS.items():
        with db.transaction() as session:
            settings.sync_clock(session, clock)
            done = list(settings.get(session, MARKER, []) or [])
            if name in done:
                continue
            missing = _missing_processes(session, needed)
            if missing:
                result.skipped.append((name, f"not deployed: {', '.join(missing)}"))
                continue
        try:
            with db.transaction() as session:
                settings.sync_clock(session, clock)
                make(_Demo(session, clock))
                settings.put(session, MARKER, [*settings.get(session, MARKER, []), name])
                audit.record(
                    session,
                    at=clock.now(),
                    actor="demo",
                    action="demo.load",
                    object_type="demo",
                    object_id=name,
                    detail={},
                )
        # Another process's step names or forms may have changed: report, keep the rest.
        except Exception as err:  # noqa: BLE001
            result.skipped.append(
                (name, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            )
            continue
        result.loaded.append(name)
        echo(f"loaded {name}: {make.__doc__}")
    for name, reason in result.skipped:
        echo(f"skipped {name} ({reason})")
    return result

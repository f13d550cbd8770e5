"""Object-level authorization (DOMAIN.md §1 Jurisdiction, Separation of duties) of
`workflows.access`, each test on SQLite and PostgreSQL, over cases of the real
bpmn/accountability.bpmn and bpmn/appeal.bpmn.

The world: 安徽省 ah > 合肥市 ah-hf > 肥东县 ah-hf-fd, and 芜湖市 ah-wh; cadre 张三 (zhang) is
managed by ah-hf, 李四 (li) by ah-hf-fd. Each case's first task is 立案 (register) in the
discipline lane of the case's unit.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support import HASHER
from tests.support.world import World, make_world
from workflows import access
from workflows.access import Principal
from workflows.cases import appeal
from workflows.cases.models import CaseFile
from workflows.engine.models import HumanTask
from workflows.errors import Forbidden, NotFound
from workflows.org import service as org
from workflows.runtime import Runtime

FACTS = {"source": "audit", "facts": "审计发现违规拨付专项资金", "evidence": "审计报告〔2026〕3号"}
ROLES = (
    "discipline",
    "organization",
    "functional",
    "committee",
    "unit",
    "supervisor",
    "designer",
    "admin",
)
PLACEMENTS = {"own": "hf", "sibling": "wh", "parent": "ah"}  # username suffix of each placement

# The policy, written out: what a user of each role and placement may do with the 立案 task
# of a case in ah-hf and of a case in ah-hf-fd.
#   A = sees the case and the task, may complete it
#   V = sees the case and the task, may not complete it (Forbidden)
#   - = sees neither (NotFound, as if missing)
#                    own (ah-hf)  sibling (ah-wh)  parent (ah)
#                    hf    fd     hf    fd         hf    fd
EXPECTED: dict[str, tuple[str, ...]] = {
    "discipline": ("A", "-", "-", "-", "-", "-"),
    "organization": ("V", "-", "-", "-", "-", "-"),
    "functional": ("V", "-", "-", "-", "-", "-"),
    "committee": ("V", "-", "-", "-", "-", "-"),
    "unit": ("V", "-", "-", "-", "-", "-"),
    "supervisor": ("V", "V", "-", "-", "V", "V"),
    "designer": ("-", "-", "-", "-", "-", "-"),
    "admin": ("V", "V", "-", "-", "V", "V"),
}


def _user(w: World, username: str, role: str, unit: str, cadre: str | None = None) -> None:
    with w.rt.db.transaction() as session:
        org.add_user(
            session,
            hasher=HASHER,
            username=username,
            display_name=username,
            password="demo-pass-1",
            role=role,
            org_unit_code=unit,
            clock=w.rt.clock,
            cadre_id=w.cadres[cadre] if cadre else None,
        )


def _world(rt: Runtime) -> tuple[World, CaseFile, CaseFile]:
    """The world with a user of every role in 'ah' too, and an open case for zhang and for li."""
    w = make_world(rt, processes=["accountability", "appeal"])
    for role in ROLES:
        _user(w, f"{role}.ah", role, "ah")
    return (
        w,
        w.open("accountability", cadre="zhang", data=FACTS),
        w.open("accountability", cadre="li", data=FACTS),
    )


def _principal(w: World, username: str) -> Principal:
    with w.rt.db.reading() as session:
        return access.principal_for(session, username=username)


def _outcome(w: World, username: str, case: CaseFile, task: HumanTask) -> str:
    """A, V or - (see EXPECTED), checking that case and task visibility agree."""
    with w.rt.db.reading() as session:
        principal = access.principal_for(session, username=username)
        try:
            access.get_case(session, principal, case.id)
            sees_case = True
        except NotFound:
            sees_case = False
        try:
            access.check_may_complete(
                session, principal, access.get_task(session, principal, task.id)
            )
            code = "A"
        except Forbidden:
            code = "V"
        except NotFound:
            code = "-"
    assert sees_case == (code != "-"), f"{username}: case and task visibility disagree"
    return code


def _visible(w: World, principal: Principal) -> tuple[set[int], set[int]]:
    """(case ids, task ids) the scope clauses select."""
    with w.rt.db.reading() as session:
        cases = set(
            session.execute(select(CaseFile.id).where(access.case_scope(principal))).scalars()
        )
        tasks = set(
            session.execute(select(HumanTask.id).where(access.task_scope(principal))).scalars()
        )
    return cases, tasks


def _may_complete(w: World, username: str, task: HumanTask) -> None:
    with w.rt.db.reading() as session:
        principal = access.principal_for(session, username=username)
        access.check_may_complete(session, principal, session.get(HumanTask, task.id))


def _cadre_task(w: World, case: CaseFile) -> HumanTask:
    """A cadre-lane task row on the case's instance (no deployed process has a cadre lane yet)."""
    with w.rt.db.transaction() as session:
        task = HumanTask(
            instance_id=case.instance_id,
            process_key=case.kind,
            spiff_task_id="0" * 36,
            task_spec="cadre_statement",
            name="本人说明",
            role="cadre",
            org_unit=case.org_unit_code,
            state="open",
            created_at=w.rt.clock.now(),
        )
        session.add(task)
        session.flush()
        session.expunge(task)
        return task


def test_jurisdiction_matches_the_policy_table(rt: Runtime) -> None:
    w, hf_case, fd_case = _world(rt)
    hf_task, fd_task = w.task(hf_case, "register"), w.task(fd_case, "register")
    assert (hf_task.org_unit, fd_task.org_unit) == ("ah-hf", "ah-hf-fd")
    actual, compared = {}, 0
    for role in ROLES:
        row = []
        for suffix in PLACEMENTS.values():
            username = f"{role}.{suffix}"
            principal = _principal(w, username)
            cases, tasks = _visible(w, principal)
            for case, task in ((hf_case, hf_task), (fd_case, fd_task)):
                code = _outcome(w, username, case, task)
                # The query clauses a queue or list uses agree with the single-object checks.
                assert (case.id in cases, task.id in tasks) == (code != "-", code != "-"), username
                row.append(code)
                compared += 1
        actual[role] = tuple(row)
    assert compared == len(ROLES) * len(PLACEMENTS) * 2
    assert actual == EXPECTED


def test_cadre_sees_only_own_cases_and_acts_only_in_cadre_lane(rt: Runtime) -> None:
    w, hf_case, fd_case = _world(rt)
    zhang = _principal(w, "zhang")
    assert (zhang.role, zhang.cadre_id, zhang.units) == (
        "cadre",
        w.cadres["zhang"],
        frozenset({"ah-hf"}),
    )
    own_lane, li_lane = _cadre_task(w, hf_case), _cadre_task(w, fd_case)
    assert _visible(w, zhang) == ({hf_case.id}, {own_lane.id})
    with w.rt.db.reading() as session:
        assert access.get_case(session, zhang, hf_case.id).id == hf_case.id
        with pytest.raises(NotFound, match=f"^案件 {fd_case.id} 不存在$"):
            access.get_case(session, zhang, fd_case.id)
    register = w.task(hf_case, "register")
    with pytest.raises(NotFound, match=f"^任务 {register.id} 不存在$"):
        _may_complete(w, "zhang", register)
    _may_complete(w, "zhang", own_lane)
    with pytest.raises(NotFound):
        _may_complete(w, "zhang", li_lane)


def test_official_never_acts_in_own_case_except_as_cadre(rt: Runtime) -> None:
    w, hf_case, _ = _world(rt)
    _user(
        w, "zhang.discipline", "discipline", "ah-hf", cadre="zhang"
    )  # the cadre also works as a clerk
    register = w.task(hf_case, "register")
    with pytest.raises(
        Forbidden, match=f"回避：zhang.discipline 是案件 {hf_case.number} 的当事干部"
    ):
        _may_complete(w, "zhang.discipline", register)
    _may_complete(w, "discipline.hf", register)


def test_out_of_scope_reads_exactly_like_missing(rt: Runtime) -> None:
    w, hf_case, _ = _world(rt)
    register = w.task(hf_case, "register")
    missing = 10_000 + hf_case.id + register.id
    with w.rt.db.reading() as session:
        outsider = access.principal_for(session, username="discipline.wh")
        insider = access.principal_for(session, username="discipline.hf")
        for fetch, present, kind in (
            (access.get_case, hf_case.id, "案件"),
            (access.get_task, register.id, "任务"),
        ):
            with pytest.raises(NotFound) as hidden:
                fetch(session, outsider, present)
            with pytest.raises(NotFound) as absent:
                fetch(session, insider, missing)
            assert str(hidden.value) == f"{kind} {present} 不存在"
            assert str(absent.value) == f"{kind} {missing} 不存在"
            assert (hidden.value.code, hidden.value.details) == (
                absent.value.code,
                absent.value.details,
            )
        with pytest.raises(NotFound, match=f"^任务 {register.id} 不存在$"):
            access.check_may_complete(session, outsider, register)


def _supervisor_task(w: World, case: CaseFile) -> HumanTask:
    with w.rt.db.transaction() as session:
        task = session.execute(
            select(HumanTask).where(
                HumanTask.instance_id == case.instance_id, HumanTask.task_spec == "register"
            )
        ).scalar_one()
        row = HumanTask(
            instance_id=task.instance_id,
            process_key=task.process_key,
            spiff_task_id="1" * 36,
            task_spec="escalate",
            name="督办",
            role="supervisor",
            org_unit=task.org_unit,
            state="open",
            created_at=task.created_at,
        )
        session.add(row)
        session.flush()
        session.expunge(row)
        return row


def test_supervisor_of_higher_unit_sees_below_but_acts_only_in_own_unit(rt: Runtime) -> None:
    w, _, fd_case = _world(rt)
    assert _principal(w, "supervisor.ah").units == frozenset({"ah", "ah-hf", "ah-wh", "ah-hf-fd"})
    assert _principal(w, "admin.hf").units == frozenset({"ah-hf", "ah-hf-fd"})
    assert _principal(w, "discipline.ah").units == frozenset({"ah"})
    supervise = _supervisor_task(w, fd_case)
    with pytest.raises(Forbidden, match="§11 本任务属 ah-hf-fd 管辖"):
        _may_complete(w, "supervisor.ah", supervise)
    with pytest.raises(Forbidden, match="§11 本任务属 ah-hf-fd 管辖"):
        _may_complete(w, "supervisor.hf", supervise)
    _user(w, "supervisor.fd", "supervisor", "ah-hf-fd")
    _may_complete(w, "supervisor.fd", supervise)


def _decided(w: World) -> CaseFile:
    """zhang's case: registered and investigated by discipline.hf, decided by committee.hf,
    served by organization.hf and received today."""
    return w.decided_accountability("demotion")


def test_handler_of_a_case_may_not_act_on_its_appeal(rt: Runtime) -> None:
    w = make_world(rt, processes=["accountability", "appeal"])
    _user(w, "organization2.hf", "organization", "ah-hf")
    original = _decided(w)
    with w.rt.transaction() as session:
        case = appeal.file_appeal(
            session,
            original_case_id=original.id,
            grounds="降职处理过重，请求复核",
            filed_on=w.today().isoformat(),
            actor="zhang",
            clock=w.rt.clock,
        )
    accept = w.task(case, "accept")
    with pytest.raises(
        Forbidden, match=f"回避：organization.hf 办理或决定过原案件 {original.number}"
    ):
        _may_complete(w, "organization.hf", accept)
    _may_complete(w, "organization2.hf", accept)
    # The recusal concerns the appeal only: the original case's own work goes on as before.
    own_work = [t for t in w.tasks(original) if t.role == "organization"]
    assert own_work, [t.task_spec for t in w.tasks(original)]
    for task in own_work:
        _may_complete(w, "organization.hf", task)
    w.complete(
        case,
        "accept",
        {"reviewer": "discipline2.hf", "accepted_on": w.today().isoformat()},
        "organization2.hf",
    )
    review = w.task(case, "review")
    _may_complete(w, "discipline2.hf", review)
    with pytest.raises(Forbidden, match="本任务已指定由第二审查员（合肥市·纪检监察机关）办理"):
        _may_complete(w, "discipline.hf", review)


def test_only_designers_deploy_and_only_admins_administer(rt: Runtime) -> None:
    w = make_world(rt, processes=["accountability"])
    for role in ROLES:
        principal = _principal(w, f"{role}.hf")
        for check, allowed in (
            (access.check_may_deploy, "designer"),
            (access.check_may_administer, "admin"),
        ):
            if role == allowed:
                check(principal)
            else:
                with pytest.raises(Forbidden) as refused:
                    check(principal)
                assert refused.value.code == "forbidden"
    with pytest.raises(Forbidden):
        access.check_may_administer(_principal(w, "zhang"))


def test_unknown_or_inactive_user_has_no_principal(rt: Runtime) -> None:
    w = make_world(rt, processes=["accountability"])
    with w.rt.db.transaction() as session:
        org.user_by_name(session, "unit.hf").active = False
    with w.rt.db.reading() as session:
        for username in ("nobody", "unit.hf"):
            with pytest.raises(NotFound, match=f"^用户 {username} 不存在$"):
                access.principal_for(session, username=username)

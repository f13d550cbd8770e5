"""A small world for case-process tests: org units, cadres, users, the real bpmn/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import set_clock
from tests.support import HASHER
from tests.support.kept import kept
from workflows import demo
from workflows.cadres.models import Cadre
from workflows.cases import appeal as appeals
from workflows.cases import service as cases
from workflows.cases.models import CaseFile
from workflows.definitions import deployment
from workflows.engine import instances
from workflows.engine.models import CalendarYear, HumanTask
from workflows.org import service as org
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
#: An accountability case's start data, its investigation and its tolerance consideration.
FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
INVESTIGATED = {"findings": "违规拨付属实", "responsibility": "main_leadership"}
NO_TOLERANCE = {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"}
BPMN = ROOT / "bpmn"
FORMS = ROOT / "forms"


@dataclass
class World:
    rt: Runtime
    cadres: dict[str, int] = field(default_factory=dict)

    # -- cases -----------------------------------------------------------------------
    def open(
        self,
        kind: str,
        cadre: str | None = "zhang",
        data: dict[str, Any] | None = None,
        user: str = "discipline.hf",
        person: str | None = None,
        links: list[tuple[int, str]] | None = None,
    ) -> CaseFile:
        with self.rt.transaction() as session:
            subject = (
                cases.Subject(cadre_id=self.cadres[cadre])
                if cadre
                else cases.Subject(name=person, org_unit_code="ah-hf")
            )
            return cases.open_case(
                session,
                kind=kind,
                subject=subject,
                title=f"{kind} 测试",
                data=data or {},
                actor=user,
                clock=self.rt.clock,
                links=links,
            )

    def case(self, case_id: int) -> CaseFile:
        with self.rt.db.reading() as session:
            return cases.get(session, case_id)

    def tasks(self, case: CaseFile) -> list[HumanTask]:
        with self.rt.db.reading() as session:
            instance_id = cases.get(session, case.id).instance_id
            return list(
                session.execute(
                    select(HumanTask)
                    .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
                    .order_by(HumanTask.id)
                ).scalars()
            )

    def task(self, case: CaseFile, element: str) -> HumanTask:
        found = [t for t in self.tasks(case) if t.task_spec == element]
        assert len(found) == 1, f"open tasks: {[t.task_spec for t in self.tasks(case)]}"
        return found[0]

    def complete(self, case: CaseFile, element: str, data: dict[str, Any], user: str) -> None:
        task = self.task(case, element)
        with self.rt.transaction() as session:
            instances.complete_task(
                session, task_id=task.id, data=data, actor=user, clock=self.rt.clock
            )

    def today(self) -> date:
        return self.rt.clock.today()

    def awaiting_decision(self) -> CaseFile:
        """An accountability case discipline.hf registered, investigated and considered (no
        tolerance circumstances): 问责决定 waits in the committee's queue."""
        case = self.open("accountability", data=FINDING)
        self.complete(case, "register", {}, "discipline.hf")
        self.complete(case, "investigate", INVESTIGATED, "discipline.hf")
        self.complete(case, "consider_tolerance", NO_TOLERANCE, "discipline.hf")
        return case

    def decided_accountability(
        self, adjustment: str = "demotion", cadre: str = "zhang"
    ) -> CaseFile:
        """An accountability case through the real process, decided and received today:
        discipline.hf registered and investigated it, committee.hf decided it,
        organization.hf served it."""
        case = self.undelivered_accountability(adjustment, cadre)
        today = self.today().isoformat()
        self.complete(
            case, "notify", {"received_on": today, "delivery": "in_person"}, "organization.hf"
        )
        return self.case(case.id)

    def undelivered_accountability(
        self, adjustment: str = "demotion", cadre: str = "zhang"
    ) -> CaseFile:
        """`decided_accountability` before 送达: decided today, waiting to be served."""
        case = self.open(
            "accountability",
            cadre=cadre,
            data={
                "source": "audit",
                "facts": "审计发现违规拨付专项资金",
                "evidence": "审计报告〔2026〕3号",
            },
        )
        self.complete(case, "register", {}, "discipline.hf")
        self.complete(
            case,
            "investigate",
            {"findings": "违规拨付属实", "responsibility": "main_leadership"},
            "discipline.hf",
        )
        self.complete(
            case,
            "consider_tolerance",
            {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
            "discipline.hf",
        )
        today = self.today().isoformat()
        self.complete(
            case,
            "decide",
            {
                "outcome": "adjustment",
                "adjustment": adjustment,
                "decided_on": today,
                "reason": "对违规拨付负主要领导责任",
            },
            "committee.hf",
        )
        return self.case(case.id)

    def accepted_appeal(self, reviewer: str = "discipline2.hf") -> tuple[CaseFile, CaseFile]:
        """(original, appeal): zhang appeals a `decided_accountability` case today and
        organization.hf accepts it, naming `reviewer` (the review task is assigned to them)."""
        original = self.decided_accountability()
        with self.rt.transaction() as session:
            case = appeals.file_appeal(
                session,
                original_case_id=original.id,
                grounds="处理过重",
                filed_on=self.today().isoformat(),
                actor="zhang",
                clock=self.rt.clock,
            )
        self.complete(
            case,
            "accept",
            {"reviewer": reviewer, "accepted_on": self.today().isoformat()},
            "organization.hf",
        )
        return original, case


def make_world(
    rt: Runtime, *, today: str = "2026-03-02 09:00", processes: list[str] | None = None
) -> World:
    """Units 安徽省 > 合肥市 > 肥东县 and 芜湖市; two cadres; users per role; the named
    processes of bpmn/ deployed (with bpmn/decisions/), or all of bpmn/.

    Built once per backend (tests/support/kept.py): the first test that asks for a world
    builds it and keeps a snapshot; later tests get a copy of the rows, with the clock moved
    to where building would have left it (a database that is not empty gets its own)."""
    key = ("world", today, None if processes is None else tuple(processes))
    cadres = kept(rt, key, lambda: _build(rt, today=today, processes=processes).cadres)
    return World(rt, cadres)


def _build(rt: Runtime, *, today: str, processes: list[str] | None) -> World:
    set_clock(rt, today)
    world = World(rt)
    with rt.db.transaction() as session:
        clock = rt.clock
        org.add_unit(session, code="ah", name="安徽省", level="province")
        org.add_unit(session, code="ah-hf", name="合肥市", level="city", parent_code="ah")
        org.add_unit(session, code="ah-wh", name="芜湖市", level="city", parent_code="ah")
        org.add_unit(session, code="ah-hf-fd", name="肥东县", level="county", parent_code="ah-hf")
        for key, name, post, unit in (
            ("zhang", "张三", "合肥市某局局长", "ah-hf"),
            ("li", "李四", "肥东县某镇党委书记", "ah-hf-fd"),
        ):
            cadre = Cadre(name=name, post=post, org_unit_code=unit, created_at=clock.now())
            session.add(cadre)
            session.flush()
            world.cadres[key] = cadre.id
        for role in (
            "discipline",
            "organization",
            "functional",
            "committee",
            "unit",
            "supervisor",
            "designer",
            "admin",
        ):
            for unit, suffix in (("ah-hf", "hf"), ("ah-wh", "wh")):
                org.add_user(
                    session,
                    hasher=HASHER,
                    username=f"{role}.{suffix}",
                    display_name=f"{role} {suffix}",
                    password="demo-pass-1",
                    role=role,
                    org_unit_code=unit,
                    clock=clock,
                )
        org.add_user(
            session,
            hasher=HASHER,
            username="discipline2.hf",
            display_name="第二审查员",
            password="demo-pass-1",
            role="discipline",
            org_unit_code="ah-hf",
            clock=clock,
        )
        org.add_user(
            session,
            hasher=HASHER,
            username="zhang",
            display_name="张三",
            password="demo-pass-1",
            role="cadre",
            org_unit_code="ah-hf",
            clock=clock,
            cadre_id=world.cadres["zhang"],
        )
        for year in (2027, 2028):
            session.add(CalendarYear(year=year, note="tests: Monday to Friday"))
        paths = (
            [BPMN]
            if processes is None
            else [
                *(BPMN / f"{name}.bpmn" for name in processes),
                *sorted((BPMN / "decisions").glob("*.dmn")),
            ]
        )
        deployment.deploy(
            session,
            files=deployment.collect(paths),
            form_source=deployment.FormFolder(FORMS),
            max_bytes=2_000_000,
            actor="designer.hf",
            clock=clock,
            note="测试部署",
            confirm=True,
        )
    return world


def load_demo(rt: Runtime) -> Any:
    """The demo as `make run` loads it: every process of bpmn/ deployed, the demo loaded on
    2026-06-01; what `demo.load` reports."""
    set_clock(rt, "2026-06-01 09:00")
    with rt.db.transaction() as session:
        deployment.deploy(
            session,
            files=deployment.collect([BPMN]),
            form_source=deployment.FormFolder(FORMS),
            max_bytes=2_000_000,
            actor="designer.ah",
            clock=rt.clock,
            note="演示部署",
            confirm=True,
        )
    return demo.load(rt.db, rt.clock, hasher=HASHER, echo=lambda _line: None)


def demo_copy(rt: Runtime) -> Any:
    """What `load_demo` leaves and reports, loaded once per backend (a second or more, with
    every process deployed) and copied into the later tests' databases (`kept`)."""
    return kept(rt, "demo", lambda: load_demo(rt))

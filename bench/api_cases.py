"""Whole accountability cases over HTTP (bench/api_complete.py, part 2).

The real bpmn/accountability.bpmn in the demo's org units with the demo's cadres; per unit
a discipline, a committee and an organization clerk. Each driver thread opens a case
(POST /api/v1/cases) and completes its tasks as the lane's clerk would, following the
`next_tasks` each completion answers with: register → investigate → consider tolerance
(none) → decide (adjustment: demotion) → notify → arrange work. The decision becomes
final when the appeal window has passed: the shared clock is moved past it and the timer
sweep (in this process, as `cadreflow scheduler` would) fires the window, which makes the
decision final and closes the case.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from api_support import ROOT, HTTPError, Server, database, note, percentile
from sqlalchemy import func, select

from workflows import migrate
from workflows.cadres.models import Cadre
from workflows.cases.models import CaseFile
from workflows.config import Settings
from workflows.definitions import deployment
from workflows.demo import CADRES, UNITS
from workflows.engine import settings, timers
from workflows.engine.models import CalendarYear
from workflows.org import service as org
from workflows.runtime import Runtime

PASSWORD = "bench-pass-1"
ROLES = ("discipline", "committee", "organization")
PROCESSES = ("accountability",)
STEPS = (
    "open",
    "register",
    "investigate",
    "consider_tolerance",
    "decide",
    "notify",
    "arrange_work",
)


def case_world(url: str) -> tuple[Runtime, dict[str, list[int]]]:
    """Demo units and cadres, three clerks per unit with cadres, accountability deployed."""
    migrate.upgrade(url)
    rt = Runtime(Settings(database_url=url, clock_adjustable=True, forms_dir=ROOT / "forms"))
    cadres: dict[str, list[int]] = defaultdict(list)
    with rt.db.transaction() as session:
        for code, name, level, parent in UNITS:
            org.add_unit(session, code=code, name=name, level=level, parent_code=parent)
        for name, post, unit in CADRES.values():
            cadre = Cadre(name=name, post=post, org_unit_code=unit, created_at=rt.clock.now())
            session.add(cadre)
            session.flush()
            cadres[unit].append(cadre.id)
        for unit in cadres:
            for role in ROLES:
                org.add_user(
                    session,
                    username=f"{role}.{unit}",
                    display_name=f"{role} {unit}",
                    password=PASSWORD,
                    role=role,
                    org_unit_code=unit,
                    clock=rt.clock,
                    hasher=rt.hasher,
                )
        for year in (2027, 2028):
            session.add(CalendarYear(year=year, note="bench: Monday to Friday"))
        paths = [
            *(ROOT / "bpmn" / f"{key}.bpmn" for key in PROCESSES),
            *sorted((ROOT / "bpmn" / "decisions").glob("*.dmn")),
        ]
        deployment.deploy(
            session,
            files=deployment.collect(paths),
            form_source=deployment.FormFolder(ROOT / "forms"),
            max_bytes=2_000_000,
            actor="bench",
            clock=rt.clock,
            note="bench",
            confirm=True,
        )
    return rt, dict(cadres)


class Driver:
    """One unit's three clerks, taking cases through the process one after another."""

    def __init__(self, server: Server, unit: str, cadre_ids: list[int]) -> None:
        self.unit = unit
        self.cadre_ids = cadre_ids
        self.clerks = {role: server.client().login(f"{role}.{unit}", PASSWORD) for role in ROLES}
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.case_ids: list[int] = []

    def _timed(
        self, step: str, role: str, method: str, path: str, body: Any, expect: int = 200
    ) -> Any:
        t0 = time.perf_counter()
        answer = self.clerks[role].call(method, path, body, expect=expect)
        self.latencies[step].append((time.perf_counter() - t0) * 1000)
        return answer

    def one_case(self, n: int, today: str) -> None:
        opened = self._timed(
            "open",
            "discipline",
            "POST",
            "/api/v1/cases",
            {
                "process": "accountability",
                "cadre_id": self.cadre_ids[n % len(self.cadre_ids)],
                "title": f"基准测试问责案件 {self.unit}-{n}",
                "source": "audit",
                "data": {"facts": "审计发现违规拨付专项资金", "evidence": "审计报告〔2026〕3号"},
            },
            expect=201,
        )
        self.case_ids.append(opened["id"])
        open_tasks = {t["element"]: t["id"] for t in opened["tasks"]}
        forms = [
            ("register", "discipline", {}),
            (
                "investigate",
                "discipline",
                {"findings": "违规拨付属实", "responsibility": "main_leadership"},
            ),
            (
                "consider_tolerance",
                "discipline",
                {
                    "consideration": "none",
                    "no_tolerance_reason": "明知故犯，不属于改革创新中的失误",
                },
            ),
            (
                "decide",
                "committee",
                {
                    "outcome": "adjustment",
                    "adjustment": "demotion",
                    "decided_on": today,
                    "reason": "对违规拨付负主要领导责任",
                },
            ),
            ("notify", "organization", {"received_on": today, "delivery": "in_person"}),
            (
                "arrange_work",
                "organization",
                {"arrangement": "降职安排至县某局", "arranged_on": today},
            ),
        ]
        for element, role, data in forms:
            task_id = open_tasks.get(element)
            if task_id is None:
                raise RuntimeError(
                    f"case {opened['number']}: no open task {element}; open: {open_tasks}"
                )
            done = self._timed(
                element, role, "POST", f"/api/v1/tasks/{task_id}/complete", {"data": data}
            )
            open_tasks = {t["element"]: t["id"] for t in done["next_tasks"]}

    def close(self) -> None:
        for c in self.clerks.values():
            c.close()


def run_cases(
    server: Server, cadres: dict[str, list[int]], count: int, drivers_n: int, today: str
) -> tuple[float, list[int], dict[str, list[float]], list[str]]:
    units = sorted(cadres)
    drivers = [
        Driver(server, units[i % len(units)], cadres[units[i % len(units)]])
        for i in range(drivers_n)
    ]
    failures: list[str] = []
    next_case = iter(range(count))
    lock = threading.Lock()

    def work(driver: Driver) -> None:
        while True:
            with lock:
                n = next(next_case, None)
            if n is None:
                return
            try:
                driver.one_case(n, today)
            except (HTTPError, RuntimeError, OSError) as err:
                failures.append(str(err))

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(d,)) for d in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies: dict[str, list[float]] = defaultdict(list)
    case_ids: list[int] = []
    for d in drivers:
        case_ids += d.case_ids
        for step, values in d.latencies.items():
            latencies[step] += values
        d.close()
    return elapsed, case_ids, latencies, failures


def bench_cases(
    backend: str, tmp: Path, count: int, report: Any, worker_counts: tuple[int, ...]
) -> None:
    with database(backend, tmp, "cases") as url:
        rt, cadres = case_world(url)
        today = rt.clock.today().isoformat()
        for workers in worker_counts:
            tag = f"[{backend}] {workers} worker{'s' if workers > 1 else ''}"
            with Server(
                url,
                workers,
                tmp,
                env={"CLOCK_ADJUSTABLE": "1", "CADREFLOW_FORMS_DIR": str(ROOT / "forms")},
            ) as server:
                run_cases(server, cadres, 2 * workers, 2 * workers, today)  # warm-up: caches, specs
                drivers = 4 * workers
                elapsed, case_ids, latencies, failures = run_cases(
                    server, cadres, count, drivers, today
                )
            for failure in failures[:5]:
                note(f"case failed: {failure}")
            per_step = ", ".join(
                f"{step} {sum(v) / len(v):.1f}" for step in STEPS if (v := latencies.get(step))
            )
            note(f"{tag}: mean ms per request — {per_step}")
            requests = [x for v in latencies.values() for x in v]
            report.add(
                f"{tag}: cases open → work arranged over HTTP ({drivers} drivers)",
                f"{len(case_ids) / elapsed:.1f} cases/s",
            )
            report.add(
                f"{tag}: case requests p50 / p99",
                f"{percentile(requests, 50):.1f} / {percentile(requests, 99):.1f} ms",
            )
            # The appeal window: move the shared clock past it and let the sweep fire it.
            with rt.db.transaction() as session:
                settings.move_clock(session, rt.clock, by=timedelta(days=40))
            started = time.perf_counter()
            fired = timers.sweep(rt.db, clock=rt.clock)
            swept = time.perf_counter() - started
            with rt.db.reading() as session:
                closed = session.execute(
                    select(func.count())
                    .select_from(CaseFile)
                    .where(CaseFile.id.in_(case_ids), CaseFile.status == "closed")
                ).scalar_one()
            report.add(
                f"{tag}: appeal-window sweep → final and closed ({fired} timers)",
                f"{fired / swept:.0f} cases/s" if swept else "-",
            )
            # The sweep fired the warm-up cases' windows too: charge these cases their share.
            total = elapsed + (swept * len(case_ids) / fired if fired else 0.0)
            report.add(
                f"{tag}: whole cases start → final → closed",
                f"{closed / total:.1f} cases/s",
                f"{closed}/{count} closed",
                closed == count and not failures,
            )
            with rt.db.transaction() as session:  # back to today for the next round
                settings.move_clock(session, rt.clock, by=timedelta(days=-40))
        rt.db.dispose()

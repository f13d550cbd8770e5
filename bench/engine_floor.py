"""Completing one user task: cadreflow's `advance` path against the raw floor.

The floor is what any system storing SpiffWorkflow state in a relational database
must pay at least: in one transaction, read the state row (locked), restore it with
the spec cached, complete the task and run the engine, serialize, write it back,
commit — with our storage choices (spec-less state JSON, same database settings)
but none of cadreflow's own work (form validation, projections of tasks and timers,
audit chain, calendar). cadreflow's path is `workflows.instances.complete_task` as the
CLI and API call it, each in its own transaction.

Prints, per backend: floor and cadreflow per completion (median and p90 over many),
their ratio against the target (≤ 1.5), and the cost after 0, 50 and 200 completed
tasks in a looping process for both (goal: ≤ 3× growth from 0 to 200).

    .venv/bin/python bench/engine_floor.py [--backend sqlite|postgresql|both] [--n 200]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg
from sqlalchemy import text

from workflows import migrate
from workflows.config import Settings
from workflows.definitions import deployment
from workflows.engine import expressions, instances
from workflows.engine import spiff as engine
from workflows.engine.calendar import WorkCalendar
from workflows.engine.models import CalendarYear, HumanTask, ProcessVersion
from workflows.runtime import Runtime

DATA = ROOT / "tests" / "data"
PG_ADMIN = os.environ.get("CADREFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
FORM = {"responsible": False, "severity": 1, "finding": "经调查不负责任"}
RATIO_TARGET = 1.5
GROWTH_GOAL = 3.0


def _runtime(url: str) -> Runtime:
    rt = Runtime(Settings(database_url=url, clock_adjustable=False, forms_dir=DATA / "forms"))
    with rt.db.transaction() as session:
        for year in (2027, 2028):
            if session.get(CalendarYear, year) is None:
                session.add(CalendarYear(year=year, note="bench"))
        deployment.deploy(
            session,
            files=deployment.collect([DATA / "deadline.bpmn", DATA / "loop.bpmn"]),
            form_source=deployment.FormFolder(DATA / "forms"),
            max_bytes=2_000_000,
            actor="bench",
            clock=rt.clock,
            note="bench",
            confirm=True,
        )
    return rt


def _start(rt: Runtime, process: str, data: dict, count: int) -> list[int]:
    ids = []
    with rt.db.transaction() as session:
        version = deployment.latest(session, process_key=process)
        for _ in range(count):
            ids.append(
                instances.start(
                    session,
                    version=version,
                    data=data,
                    org_unit="hefei",
                    actor="bench",
                    clock=rt.clock,
                ).id
            )
    return ids


def _open_task(rt: Runtime, instance_id: int) -> int:
    with rt.db.reading() as session:
        return session.execute(
            HumanTask.__table__.select()
            .with_only_columns(HumanTask.id)
            .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
        ).scalar_one()


def _cadreflow_complete(rt: Runtime, task_id: int, data: dict) -> None:
    with rt.transaction() as session:
        instances.complete_task(session, task_id=task_id, data=data, actor="bench", clock=rt.clock)


class Floor:
    """The raw floor on a copy of the same states, with SQLAlchemy Core only."""

    def __init__(self, rt: Runtime, process: str, *, fresh: bool = True) -> None:
        """`fresh`: an empty floor_state table (else another process's states are used)."""
        self.db = rt.db
        self.clock = rt.clock
        self.functions = expressions.standard_functions(
            calendar=WorkCalendar(override_years=frozenset({2027, 2028})), clock=rt.clock
        )
        if fresh:
            with rt.db.engine.begin() as conn:
                conn.execute(
                    text(
                        "CREATE TABLE IF NOT EXISTS floor_state (id INTEGER PRIMARY KEY, state TEXT)"
                    )
                )
                conn.execute(text("DELETE FROM floor_state"))
        with rt.db.reading() as session:
            version = deployment.latest(session, process_key=process)
            self.compiled = engine.load_spec(session.get(ProcessVersion, version.id).spec_json)
        self.for_update = "" if rt.db.dialect == "sqlite" else " FOR UPDATE"

    def copy_states(self, instance_ids: list[int]) -> None:
        with self.db.engine.begin() as conn:
            for iid in instance_ids:
                state = conn.execute(
                    text("SELECT state FROM instance WHERE id = :i"), {"i": iid}
                ).scalar()
                conn.execute(
                    text("INSERT INTO floor_state (id, state) VALUES (:i, :s)"),
                    {"i": iid, "s": state},
                )

    def complete(self, instance_id: int, data: dict) -> None:
        with self.db.engine.begin() as conn:
            state = conn.execute(
                text(f"SELECT state FROM floor_state WHERE id = :i{self.for_update}"),
                {"i": instance_id},
            ).scalar()
            run = engine.restore(self.compiled, state, clock=self.clock, functions=self.functions)
            run.complete_user_task(run.ready_user_tasks()[0].id, data)
            conn.execute(
                text("UPDATE floor_state SET state = :s WHERE id = :i"),
                {"s": run.dump(), "i": instance_id},
            )


def _timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1]


def bench_one_completion(rt: Runtime, n: int) -> tuple[float, float, float, float]:
    ids = _start(rt, "deadline", {"registered_on": "2026-11-02"}, n)
    floor = Floor(rt, "deadline")
    floor.copy_states(ids)
    tasks = [_open_task(rt, i) for i in ids]
    floor_ms, ours_ms = [], []
    # Interleave so both see the same machine load and cache state.
    for iid, tid in zip(ids, tasks):
        floor_ms.append(_timed(lambda iid=iid: floor.complete(iid, FORM)))
        ours_ms.append(_timed(lambda tid=tid: _cadreflow_complete(rt, tid, FORM)))
    return (*_summary(floor_ms), *_summary(ours_ms))


def _floor_process(url: str, ids: list[int], start: Any, results: Any) -> None:
    """One of `floor_in_processes`'s processes: warms up, waits for the others, runs."""
    rt = _runtime(url)
    floor = Floor(rt, "deadline", fresh=False)
    for iid in ids[:20]:
        floor.complete(iid, FORM)
    start.wait()
    began = time.time()
    for iid in ids[20:]:
        floor.complete(iid, FORM)
    results.put((len(ids) - 20, began, time.time()))
    rt.db.dispose()


def floor_in_processes(rt: Runtime, processes: int, per_process: int) -> float:
    """Completions per second of the raw floor run by `processes` processes at once on the
    same database (as that many server workers would share it)."""
    ids = _start(rt, "deadline", {"registered_on": "2026-11-02"}, processes * (per_process + 20))
    floor = Floor(rt, "deadline")
    floor.copy_states(ids)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(processes), context.Queue()
    chunk = per_process + 20
    children = [
        context.Process(
            target=_floor_process,
            args=(rt.db.url, ids[i * chunk : (i + 1) * chunk], start, results),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    done = [results.get(timeout=600) for _ in children]
    for child in children:
        child.join()
    began, ended = min(d[1] for d in done), max(d[2] for d in done)
    return sum(d[0] for d in done) / (ended - began)


def bench_growth(
    rt: Runtime, marks: tuple[int, ...] = (0, 50, 200), reps: int = 5
) -> dict[int, tuple[float, float]]:
    ids = _start(rt, "loop", {"done": False}, reps)
    floor = Floor(rt, "loop")
    floor.copy_states(ids)
    results: dict[int, tuple[float, float]] = {}
    done = 0
    for mark in marks:
        while done < mark:
            for iid in ids:
                floor.complete(iid, {"done": False})
                _cadreflow_complete(rt, _open_task(rt, iid), {"done": False})
            done += 1
        f = [_timed(lambda iid=iid: floor.complete(iid, {"done": False})) for iid in ids]
        o = []
        for iid in ids:
            tid = _open_task(rt, iid)
            o.append(_timed(lambda tid=tid: _cadreflow_complete(rt, tid, {"done": False})))
        done += 1
        results[mark] = (statistics.median(f), statistics.median(o))
    return results


def _backend_url(backend: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    name = f"cadreflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--n", type=int, default=200, help="completions measured per backend")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"engine floor benchmark — {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    worst_ratio = 0.0
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            url, cleanup = _backend_url(backend, Path(tmp))
            try:
                migrate.upgrade(url)
                rt = _runtime(url)
                _start(rt, "deadline", {"registered_on": "2026-11-02"}, 5)  # warm caches
                f50, f90, o50, o90 = bench_one_completion(rt, args.n)
                ratio = o50 / f50
                worst_ratio = max(worst_ratio, ratio)
                print(f"\n[{backend}] complete one user task, {args.n} completions")
                print(f"  floor      median {f50:6.2f} ms   p90 {f90:6.2f} ms")
                print(f"  cadreflow  median {o50:6.2f} ms   p90 {o90:6.2f} ms")
                print(
                    f"  ratio cadreflow/floor {ratio:4.2f}  (target <= {RATIO_TARGET})"
                    f"  {'OK' if ratio <= RATIO_TARGET else 'OVER'}"
                )
                growth = bench_growth(rt)
                print("  looping process, median ms per completion after N completed tasks:")
                print(f"  {'N':>5}  {'floor':>8}  {'cadreflow':>9}")
                for mark, (fm, om) in growth.items():
                    print(f"  {mark:>5}  {fm:8.2f}  {om:9.2f}")
                fg = growth[200][0] / growth[0][0]
                og = growth[200][1] / growth[0][1]
                print(
                    f"  growth 0→200: floor {fg:4.1f}x, cadreflow {og:4.1f}x "
                    f"(goal <= {GROWTH_GOAL}x)  {'OK' if og <= GROWTH_GOAL else 'OVER'}"
                )
                rt.db.dispose()
            finally:
                cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

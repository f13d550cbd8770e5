"""Prepared statements (workflows/engine/prepared.py) against SQLAlchemy's own execution.

One process per backend, the arms interleaved in a shuffled order every round so that each
sees the same load on a shared machine:
- `floor`: the engine floor of bench/engine_floor.py (the same process, task and form);
- `engine`: `instances.complete_task` in its own transaction, as engine_floor times it;
- `api`: POST /api/v1/tasks/{id}/complete through the app in-process (Flask's test client:
  session lookup, authorization, completion, the next tasks, the JSON answer), as a
  worker runs it minus the socket;
each of `engine` and `api` twice: with the prepared statements, and with every one of them
run by `conn.execute` (`prepared.PLAIN = {"all"}`), as plain call sites would run them.

Prints medians and p90 per arm, each against the floor of the same run, the gain of the
prepared statements (time saved ÷ the time with SQLAlchemy's execution), and the time spent
in each statement group (the defining module) per API completion in both modes.

With `--http`, the same comparison over real HTTP instead: two servers on one
database, one with the prepared statements and one with SQLAlchemy's execution
(CADREFLOW_PREPARED_PLAIN=all), their closed loops (2 requests in flight per worker) taken
in turns in a shuffled order, each between two blocks of the engine floor as
bench/api_complete.py does, and each loop's cost per completion (workers ÷ peak) divided by
the floor around it.

    .venv/bin/python bench/prepared_ab.py [--backend sqlite|postgresql|both] [--rounds 300]
    .venv/bin/python bench/prepared_ab.py --http [--backend ...] [--rounds 4] [--seconds 6]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import engine_floor
from api_complete import FORM, PASSWORD, FloorBlocks, TaskPool, closed_loop, completion_world
from api_support import Server, cpu_busy, database, percentile

from server import create_app
from workflows.engine import prepared

#: The statement groups (defining modules) by the path they serve: a completion's writes
#: (its lock, the state, projections, audit row and draft: one statement on PostgreSQL), and the
#: reads around it of every request (session, authorization, the next tasks).
WRITES = frozenset({"instances", "projections", "audit", "drafts"})
READS = frozenset({"auth", "access", "completion"})
#: (arm, path, groups run by SQLAlchemy's execution)
ARMS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("floor", "floor", frozenset()),
    ("engine prepared", "engine", frozenset()),
    ("engine plain", "engine", frozenset({"all"})),
    ("api prepared", "api", frozenset()),
    ("api plain", "api", frozenset({"all"})),
    ("api plain writes", "api", WRITES),
    ("api plain reads", "api", READS),
)
_spent: dict[str, float] | None = None  # the groups' seconds in the completion being timed
_execute = prepared.Prepared.execute


def _timed_execute(self: prepared.Prepared, conn: Any, params: Any = None) -> Any:
    if _spent is None:
        return _execute(self, conn, params)
    started = time.perf_counter()
    try:
        return _execute(self, conn, params)
    finally:
        _spent[self.group] = _spent.get(self.group, 0.0) + time.perf_counter() - started


prepared.Prepared.execute = _timed_execute  # type: ignore[method-assign]


class Arms:
    """Every arm's samples (ms per completion) and, per completion, its groups' seconds."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.groups: dict[str, list[dict[str, float]]] = defaultdict(list)

    def run(self, arm: str, fn: Callable[[], None], plain: frozenset[str]) -> None:
        global _spent
        prepared.PLAIN.clear()
        prepared.PLAIN.update(plain)
        _spent = {}
        started = time.perf_counter()
        try:
            fn()
        finally:
            self.ms[arm].append((time.perf_counter() - started) * 1000)
            self.groups[arm].append(_spent)
            _spent = None
            prepared.PLAIN.clear()


def _api_client(rt: Any) -> tuple[Any, dict[str, str]]:
    app = create_app(rt, serving=False)
    client = app.test_client()
    answer = client.post("/api/v1/auth/login", json={"username": "clerk00", "password": PASSWORD})
    assert answer.status_code == 200, answer.data[:300]
    cookie = "; ".join(
        c.split(";", 1)[0]
        for c in answer.headers.getlist("Set-Cookie")
        if c.startswith("cadreflow_session=")
    )
    return client, {
        "Cookie": cookie,
        "X-CSRF-Token": answer.get_json()["csrf_token"],
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def bench_backend(backend: str, tmp: Path, rounds: int, seed: int) -> None:
    warm = 30
    total = rounds + warm
    with database(backend, tmp, "prepared") as url:
        rt = completion_world(url, clerks=1)
        per_path = {
            path: sum(1 for _, p, _ in ARMS if p == path) for path in ("floor", "engine", "api")
        }
        floor_ids = engine_floor._start(rt, "deadline", {"registered_on": "2026-11-02"}, total)
        floor = engine_floor.Floor(rt, "deadline")
        floor.copy_states(floor_ids)
        engine_ids = engine_floor._start(
            rt, "deadline", {"registered_on": "2026-11-02"}, per_path["engine"] * total
        )
        engine_tasks = [engine_floor._open_task(rt, i) for i in engine_ids]
        pool = TaskPool(rt)
        pool.fill(per_path["api"] * total)
        client, headers = _api_client(rt)
        body = json.dumps({"data": FORM}, ensure_ascii=False)

        def api(task_id: int) -> None:
            answer = client.post(f"/api/v1/tasks/{task_id}/complete", data=body, headers=headers)
            assert answer.status_code == 200, answer.data[:300]

        def job(path: str) -> Callable[[], None]:
            if path == "floor":
                iid = floor_ids.pop()
                return lambda: floor.complete(iid, FORM)
            if path == "engine":
                tid = engine_tasks.pop()
                return lambda: engine_floor._cadreflow_complete(rt, tid, FORM)
            api_tid = pool.take()
            assert api_tid is not None
            return lambda: api(api_tid)

        plan = [[(arm, job(path), plain) for arm, path, plain in ARMS] for _ in range(total)]
        arms, warming = Arms(), Arms()
        shuffle = random.Random(seed)
        gc.collect()
        gc.freeze()  # as a serving worker does (server.settle_heap)
        busy = cpu_busy(2.0)
        load = os.getloadavg()[0]
        started = time.monotonic()
        for i, plan_round in enumerate(plan):
            shuffle.shuffle(plan_round)
            for arm, fn, plain in plan_round:
                (arms if i >= warm else warming).run(arm, fn, plain)
        busy_after = cpu_busy(2.0)
        print(
            f"\n[{backend}] {rounds} rounds (+{warm} warm-up) in {time.monotonic() - started:.0f} s; "
            f"CPUs busy with other work: {100 * busy:.0f} % before, {100 * busy_after:.0f} % after; "
            f"load average {load:.2f} before",
            flush=True,
        )
        report(arms)
        rt.db.dispose()


def report(arms: Arms) -> None:
    median = {arm: statistics.median(samples) for arm, samples in arms.ms.items()}
    floor = median["floor"]
    print(f"  {'arm':<18} {'median':>8} {'p90':>8} {'x floor':>8} {'gain':>7}")
    for arm, path, plain in ARMS:
        # the gain of the statements this arm runs by SQLAlchemy: what the prepared ones save,
        # as a share of this arm's time
        gain = (
            ""
            if not plain
            else f"{100 * (median[arm] - median[f'{path} prepared']) / median[arm]:+6.1f}%"
        )
        print(
            f"  {arm:<18} {median[arm]:8.3f} {percentile(arms.ms[arm], 90):8.3f} "
            f"{median[arm] / floor:8.3f} {gain:>7}"
        )
    base = median["api plain"]
    groups = sorted(
        {g for arm in ("api prepared", "api plain") for d in arms.groups[arm] for g in d}
    )
    print(
        f"  per API completion, µs inside each group's statements (median), saving as % of {base:.2f} ms:"
    )
    print(f"  {'group':<12} {'prepared':>9} {'plain':>9} {'saved':>8} {'gain':>7}")
    for group in [*groups, "all"]:

        def spent(arm: str, group: str = group) -> float:
            return statistics.median(
                [
                    1e6 * (sum(d.values()) if group == "all" else d.get(group, 0.0))
                    for d in arms.groups[arm]
                ]
            )

        ours, theirs = spent("api prepared"), spent("api plain")
        share = 100 * (theirs - ours) / (1000 * base)
        print(f"  {group:<12} {ours:9.1f} {theirs:9.1f} {theirs - ours:8.1f} {share:6.1f}%")


def bench_http(
    backend: str, tmp: Path, worker_counts: tuple[int, ...], rounds: int, seconds: float, seed: int
) -> None:
    modes = {"prepared": "", "plain": "all"}
    with database(backend, tmp, "prepared_http") as url:
        most = 2 * max(worker_counts)
        rt = completion_world(url, clerks=most)
        loops = rounds * len(modes) * len(worker_counts)
        floors = FloorBlocks(rt, 100, 2 * loops)
        pool = TaskPool(rt)
        shuffle = random.Random(seed)
        for workers in worker_counts:
            ratios: dict[str, list[float]] = defaultdict(list)
            cpus: dict[str, list[float]] = defaultdict(list)
            with ExitStack() as stack:
                servers = {
                    mode: stack.enter_context(
                        Server(url, workers, tmp, env={"CADREFLOW_PREPARED_PLAIN": plain})
                    )
                    for mode, plain in modes.items()
                }
                clients = {}
                for mode, server in servers.items():
                    clients[mode] = [
                        server.client().login(f"clerk{i:02d}", PASSWORD) for i in range(2 * workers)
                    ]
                    pool.fill(int(400 * workers * 3))
                    closed_loop(server, clients[mode], pool, 3.0)  # warm-up
                print(
                    f"\n[{backend}] {workers} worker(s), {rounds} rounds of {seconds:.0f} s loops "
                    f"per mode; load average {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
                print(
                    f"  {'round':>5} {'mode':<9} {'/s':>6} {'cost ms':>8} {'floor ms':>9} "
                    f"{'ratio':>6} {'CPU ms':>7} {'busy':>5}"
                )
                for r in range(rounds):
                    order = list(modes)
                    shuffle.shuffle(order)
                    for mode in order:
                        pool.fill(int(400 * workers * seconds))
                        busy = cpu_busy(1.0)
                        before = floors.block()
                        load = closed_loop(servers[mode], clients[mode], pool, seconds)
                        floor_ms = statistics.median(before + floors.block())
                        cost = 1000 * workers / load.rate
                        cpu = 1000 * load.cpu_seconds / max(load.completions, 1)
                        ratios[mode].append(cost / floor_ms)
                        cpus[mode].append(cpu / floor_ms)
                        print(
                            f"  {r + 1:>5} {mode:<9} {load.rate:6.0f} {cost:8.2f} {floor_ms:9.2f} "
                            f"{cost / floor_ms:6.2f} {cpu:7.2f} {100 * busy:4.0f}%"
                            f"{f'  {load.errors} errors' if load.errors else ''}",
                            flush=True,
                        )
            ours, theirs = statistics.median(ratios["prepared"]), statistics.median(ratios["plain"])
            print(
                f"  ratio to floor, median (range): prepared {ours:.2f} "
                f"({min(ratios['prepared']):.2f}–{max(ratios['prepared']):.2f}), plain {theirs:.2f} "
                f"({min(ratios['plain']):.2f}–{max(ratios['plain']):.2f}); prepared saves "
                f"{100 * (theirs - ours) / theirs:+.1f} %; worker CPU x floor, median: "
                f"prepared {statistics.median(cpus['prepared']):.2f}, "
                f"plain {statistics.median(cpus['plain']):.2f}",
                flush=True,
            )
        rt.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=300, help="completions per arm")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--http", action="store_true", help="over HTTP, two servers")
    parser.add_argument("--seconds", type=float, default=6.0, help="--http: seconds per loop")
    args = parser.parse_args()
    print(f"prepared statements A/B — {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as name:
        for backend in backends:
            if args.http:  # the targets: one SQLite worker; one and two on PostgreSQL
                bench_http(
                    backend,
                    Path(name),
                    (1,) if backend == "sqlite" else (1, 2),
                    args.rounds,
                    args.seconds,
                    args.seed,
                )
            else:
                bench_backend(backend, Path(name), args.rounds, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

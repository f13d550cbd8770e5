"""Completing user tasks over real HTTP, against the engine core's raw floor in the same run.

Per backend (SQLite file, fresh PostgreSQL database):
1. the engine floor per completion (bench/engine_floor.py, same database, same process
   `deadline` and form), then granian with 1 and 2 workers serving `server:create_app()`;
   clients on this machine log in (cookie + X-CSRF-Token) and POST
   /api/v1/tasks/{id}/complete with valid form data: peak completions/s (closed loop),
   cost per completion = workers / peak against the floor (target ≤ 2.0×; SQLite's
   two workers are shown, not a target: SQLite is the one-process deployment), and p99
   latency at 50 % of the peak rate (open loop, paced; target ≤ 25 ms). The floor is
   measured again right before and right after each closed loop, with the server idle,
   and each loop is compared with the floor around it: the host's speed drifts by tens
   of percent over minutes, and a floor taken once at the start would carry that drift
   into the ratio;
2. whole accountability cases over HTTP on the real bpmn/ in a demo-like world:
   open → register → investigate → consider tolerance → decide → notify → arrange work,
   then the appeal window's timer (clock moved, sweep) makes the decision final and
   closes the case — cases per second;
3. (PostgreSQL) GET /api/v1/tasks for a clerk while the database holds 100,000 open cases
   and 1,000,000 task rows: p50/p95/p99 (target p95 ≤ 20 ms), with the query plan when
   the target is missed.

    .venv/bin/python bench/api_complete.py [--backend sqlite|postgresql|both] [--quick]
        [--skip-complete] [--skip-cases] [--skip-large] [--explain] [--workers 1,2]
        [--threads N] [--server granian|gunicorn] [--worker-class sync|gthread]
        [--quiet-wait SECONDS] [--app MODULE:CALL]

granian (the default, and the deployment README.md describes) reads and writes HTTP in
Rust and keeps connections alive; each worker's thread runs one request at a time.
`--server gunicorn` measures the same app under gunicorn, whose `sync` worker answers
one request per connection and parses HTTP in Python (docs/performance.md compares them).

The machine is shared with the clients (and, on a shared host, with others): before each
measurement the benchmark waits (up to --quiet-wait) for the CPUs to go idle and prints
how busy they were. Worker CPU per completion, read from /proc, is printed beside the
wall-clock cost: it does not depend on how the CPUs were shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import SimpleQueue

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_cases
import api_queue
import engine_floor
from api_support import SERVERS, Client, Server, database, note, percentile, wait_until_quiet
from sqlalchemy import select

from workflows import migrate
from workflows.engine.models import HumanTask
from workflows.org import service as org
from workflows.runtime import Runtime

RATIO_TARGET = 2.0
P99_TARGET_MS = 25.0
PASSWORD = "bench-pass-1"
FORM = engine_floor.FORM  # the floor completes the same task with the same data
UNIT = "hefei"  # engine_floor starts its instances in this org unit


@dataclass(frozen=True)
class Sizes:
    floor_n: int
    step_seconds: float
    latency_seconds: float
    cases: int
    large_cases: int
    large_samples: int
    clients: int = 16
    quiet_wait: float = 120.0

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(
                floor_n=40,
                step_seconds=1.5,
                latency_seconds=3,
                cases=12,
                large_cases=10_000,
                large_samples=40,
                quiet_wait=5.0,
            )
        return cls(
            floor_n=200,
            step_seconds=6,
            latency_seconds=12,
            cases=120,
            large_cases=100_000,
            large_samples=300,
        )


@dataclass
class Row:
    metric: str
    value: str
    target: str = ""
    ok: bool | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, metric: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(Row(metric, value, target, ok))
        verdict = "" if ok is None else ("  PASS" if ok else "  FAIL")
        print(f"  {metric:<58} {value:>16} {target:>10}{verdict}", flush=True)

    def table(self) -> str:
        width = max(len(r.metric) for r in self.rows) if self.rows else 10
        lines = [f"{'metric':<{width}}  {'value':>16}  {'target':>10}  result", "-" * (width + 42)]
        for r in self.rows:
            verdict = "" if r.ok is None else ("pass" if r.ok else "FAIL")
            lines.append(f"{r.metric:<{width}}  {r.value:>16}  {r.target:>10}  {verdict}")
        return "\n".join(lines)


# -- the completion world ----------------------------------------------------------------


class TaskPool:
    """Open `investigate` tasks of `deadline` instances, handed out once each."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.ids: deque[int] = deque()

    def fill(self, wanted: int) -> None:
        missing = wanted - len(self.ids)
        while missing > 0:
            batch = min(missing, 500)
            instance_ids = engine_floor._start(
                self.rt, "deadline", {"registered_on": "2026-11-02"}, batch
            )
            with self.rt.db.reading() as session:
                self.ids.extend(
                    session.execute(
                        select(HumanTask.id)
                        .where(HumanTask.instance_id.in_(instance_ids), HumanTask.state == "open")
                        .order_by(HumanTask.id)
                    ).scalars()
                )
            missing -= batch

    def take(self) -> int | None:
        try:
            return self.ids.popleft()
        except IndexError:
            return None


def completion_world(url: str, clerks: int) -> Runtime:
    migrate.upgrade(url)
    rt = engine_floor._runtime(url)  # deploys tests/data deadline + loop, declares 2027/28
    with rt.db.transaction() as session:
        org.add_unit(session, code=UNIT, name="合肥（基准）", level="city")
        for i in range(clerks):  # argon2 is slow by design: once per clerk, here
            org.add_user(
                session,
                username=f"clerk{i:02d}",
                display_name=f"审查员{i}",
                password=PASSWORD,
                role="discipline",
                org_unit_code=UNIT,
                clock=rt.clock,
                hasher=rt.hasher,
            )
    return rt


_BODY = json.dumps({"data": FORM}, ensure_ascii=False).encode()


def _complete(client: Client, task_id: int) -> int:
    status, _, body = client.request("POST", f"/api/v1/tasks/{task_id}/complete", raw=_BODY)
    if status != 200:
        note(f"task {task_id}: HTTP {status} {body[:300]!r}")
    return status


@dataclass
class Load:
    completions: int
    errors: int
    seconds: float
    cpu_seconds: float
    latencies_ms: list[float]
    client_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0


def closed_loop(server: Server, clients: list[Client], pool: TaskPool, seconds: float) -> Load:
    """Every client sends its next completion as soon as the previous one answered."""
    latencies: list[float] = []
    errors = [0]
    cpu0, client0 = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    stop = started + seconds

    def run(client: Client) -> None:
        while time.perf_counter() < stop:
            task_id = pool.take()
            if task_id is None:
                return
            t0 = time.perf_counter()
            status = _complete(client, task_id)
            latencies.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors[0] += 1

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done = len(latencies) - errors[0]
    return Load(
        done,
        errors[0],
        elapsed,
        server.cpu_seconds() - cpu0,
        latencies,
        time.process_time() - client0,
    )


def open_loop(
    server: Server, clients: list[Client], pool: TaskPool, rate: float, seconds: float
) -> Load:
    """Requests sent on a fixed schedule whatever the answers; latency counts from the
    scheduled moment, so a slow answer delays (and charges) the ones queued behind it."""
    jobs: SimpleQueue[float | None] = SimpleQueue()
    latencies: list[float] = []
    errors = [0]
    count = max(1, int(rate * seconds))

    def send(client: Client) -> None:
        while True:
            due = jobs.get()
            if due is None:
                return
            task_id = pool.take()
            if task_id is None:
                continue
            status = _complete(client, task_id)
            latencies.append((time.perf_counter() - due) * 1000)
            if status != 200:
                errors[0] += 1

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    cpu0 = server.cpu_seconds()
    started = time.perf_counter()
    for i in range(count):
        due = started + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put(due)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return Load(
        len(latencies) - errors[0], errors[0], elapsed, server.cpu_seconds() - cpu0, latencies
    )


class FloorBlocks:
    """The engine floor in short blocks between the server's loops (the server idle)."""

    def __init__(self, rt: Runtime, per_block: int, blocks: int) -> None:
        self.per_block = per_block
        ids = engine_floor._start(
            rt, "deadline", {"registered_on": "2026-11-02"}, per_block * blocks + 50
        )
        self.floor = engine_floor.Floor(rt, "deadline")
        self.floor.copy_states(ids)
        self.ids = deque(ids)
        for _ in range(50):  # warm
            self.floor.complete(self.ids.popleft(), FORM)

    def block(self) -> list[float]:
        """Milliseconds per completion, one sample each."""
        samples = []
        for _ in range(self.per_block):
            iid = self.ids.popleft()
            started = time.perf_counter()
            self.floor.complete(iid, FORM)
            samples.append((time.perf_counter() - started) * 1000)
        return samples


@dataclass
class Step:
    load: Load
    concurrency: int
    floor_ms: float  # median of the floor blocks right before and right after the loop


def _peak(
    server: Server,
    clients: list[Client],
    pool: TaskPool,
    floors: FloorBlocks,
    workers: int,
    threads: int,
    seconds: float,
    tag: str,
) -> Step:
    """The best of closed loops with 1, 2 and 4 requests in flight per worker thread, each
    between two floor blocks."""
    best: Step | None = None
    for concurrency in sorted({workers * threads, 2 * workers * threads, 4 * workers * threads}):
        pool.fill(int(800 * workers * seconds))
        before = floors.block()
        load = closed_loop(server, clients[:concurrency], pool, seconds)
        floor_ms = percentile(before + floors.block(), 50)
        n = max(load.completions, 1)
        cost = 1000 * workers / load.rate if load.rate else float("inf")
        note(
            f"{tag}, {concurrency} clients: {load.rate:.0f}/s, cost {cost:.2f} ms, floor around it "
            f"{floor_ms:.2f} ms ({cost / floor_ms:.2f}x), worker CPU "
            f"{1000 * load.cpu_seconds / n:.2f} ms/completion, client CPU "
            f"{1000 * load.client_cpu_seconds / n:.2f} ms/request, {load.errors} error(s)"
        )
        if best is None or load.rate > best.load.rate:
            best = Step(load, concurrency, floor_ms)
    assert best is not None
    return best


def bench_completions(
    backend: str,
    tmp: Path,
    sizes: Sizes,
    report: Report,
    worker_counts: tuple[int, ...],
    threads: int,
    server_kind: str,
    worker_class: str,
    app: str,
) -> None:
    with database(backend, tmp, "complete") as url:
        rt = completion_world(url, sizes.clients)
        engine_floor._start(rt, "deadline", {"registered_on": "2026-11-02"}, 5)  # warm caches
        busy = wait_until_quiet(sizes.quiet_wait)
        note(f"[{backend}] engine floor, {sizes.floor_n} completions")
        f50, _f90, o50, _o90 = engine_floor.bench_one_completion(rt, sizes.floor_n)
        report.add(f"[{backend}] CPU busy with other work before the floor", f"{100 * busy:.0f} %")
        report.add(f"[{backend}] engine floor per completion (median)", f"{f50:.2f} ms")
        report.add(
            f"[{backend}] engine complete_task in-process (median), x floor",
            f"{o50:.2f} ms = {o50 / f50:.2f}x",
        )
        pool = TaskPool(rt)
        pool.fill(3000 if sizes.step_seconds < 3 else 6000)
        floors = FloorBlocks(rt, sizes.floor_n, 2 * 3 * len(worker_counts))
        for workers in worker_counts:
            tag = f"[{backend}] {workers} worker{'s' if workers > 1 else ''}"
            busy = wait_until_quiet(sizes.quiet_wait)
            report.add(f"{tag}: CPU busy with other work before", f"{100 * busy:.0f} %")
            with Server(
                url,
                workers,
                tmp,
                threads=threads,
                server=server_kind,
                worker_class=worker_class,
                app=app,
            ) as server:
                clients = [
                    server.client().login(f"clerk{i:02d}", PASSWORD) for i in range(sizes.clients)
                ]
                # Warm-up: spec and statement caches, and the one full garbage collection
                # (~80 ms) a fresh worker runs once those caches have grown.
                closed_loop(server, clients[: workers * threads], pool, 3.0)
                step = _peak(
                    server, clients, pool, floors, workers, threads, sizes.step_seconds, tag
                )
                best, floor_ms = step.load, step.floor_ms
                cost = 1000 * workers / best.rate if best.rate else float("inf")
                cpu = 1000 * best.cpu_seconds / max(best.completions, 1)
                report.add(
                    f"{tag}: peak completions/s ({step.concurrency} clients)", f"{best.rate:.0f} /s"
                )
                report.add(f"{tag}: cost per completion (workers/peak)", f"{cost:.2f} ms")
                report.add(f"{tag}: engine floor around that loop (median)", f"{floor_ms:.2f} ms")
                if backend == "sqlite" and workers > 1:
                    # SQLite is the one-process deployment (one writer at a time): shown, not a target
                    report.add(f"{tag}: ratio to floor (not a target)", f"{cost / floor_ms:.2f}x")
                else:
                    report.add(
                        f"{tag}: ratio to floor",
                        f"{cost / floor_ms:.2f}x",
                        f"<= {RATIO_TARGET}x",
                        cost / floor_ms <= RATIO_TARGET,
                    )
                report.add(
                    f"{tag}: worker CPU per completion, x floor (diagnostic)",
                    f"{cpu:.2f} ms = {cpu / floor_ms:.2f}x",
                )
                if workers > 1:  # what the database lets even the floor do with that many writers
                    rate = engine_floor.floor_in_processes(rt, workers, 10 * sizes.floor_n)
                    shared = 1000 * workers / rate
                    report.add(
                        f"{tag}: floor in {workers} processes at once (diagnostic)",
                        f"{rate:.0f}/s = {shared:.2f} ms = {shared / floor_ms:.2f}x",
                    )
                rate = best.rate / 2
                pool.fill(int(rate * sizes.latency_seconds) + 200)
                paced = open_loop(server, clients, pool, rate, sizes.latency_seconds)
                p50, p99 = percentile(paced.latencies_ms, 50), percentile(paced.latencies_ms, 99)
                report.add(
                    f"{tag}: p50 at 50% of peak ({rate:.0f}/s, {len(paced.latencies_ms)} req)",
                    f"{p50:.1f} ms",
                )
                report.add(
                    f"{tag}: p99 at 50% of peak",
                    f"{p99:.1f} ms",
                    f"<= {P99_TARGET_MS:.0f} ms",
                    p99 <= P99_TARGET_MS and paced.errors == 0,
                )
                if best.errors or paced.errors:
                    report.add(
                        f"{tag}: failed requests", str(best.errors + paced.errors), "0", False
                    )
                for c in clients:
                    c.close()
        rt.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--skip-large", action="store_true", help="skip the 1,000,000-task queue")
    parser.add_argument("--skip-cases", action="store_true", help="skip whole accountability cases")
    parser.add_argument(
        "--skip-complete", action="store_true", help="skip the completion throughput"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the queue's query plans even when the target is met",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=None,
        help="seconds to wait for other processes to leave the CPUs idle before "
        "each measurement (default 120, quick 5)",
    )
    parser.add_argument(
        "--app",
        default="server:create_app()",
        help="the WSGI app the server serves (to measure a variant of the app)",
    )
    parser.add_argument(
        "--server",
        default="granian",
        choices=SERVERS,
        help="granian (the deployment README.md describes) or gunicorn, to compare",
    )
    parser.add_argument("--workers", default="1,2", help="worker process counts, e.g. 1,2")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker, each one request at a time"
    )
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="gunicorn only: sync answers one request per connection (behind a proxy); "
        "gthread keeps connections alive",
    )
    args = parser.parse_args()
    sizes = Sizes.of(args.quick)
    if args.quiet_wait is not None:
        sizes = replace(sizes, quiet_wait=args.quiet_wait)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    worker_counts = tuple(int(w) for w in args.workers.split(","))
    print(
        f"cadreflow API benchmark — {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
        f"{args.server}{' ' + args.worker_class if args.server == 'gunicorn' else ''} "
        f"x{args.threads} thread(s), clients on this machine"
        f"{' (quick sizes)' if args.quick else ''}",
        flush=True,
    )
    report = Report()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for backend in backends:
            if not args.skip_complete:
                bench_completions(
                    backend,
                    tmp,
                    sizes,
                    report,
                    worker_counts,
                    args.threads,
                    args.server,
                    args.worker_class,
                    args.app,
                )
            if not args.skip_cases:
                busy = wait_until_quiet(sizes.quiet_wait)
                report.add(
                    f"[{backend}] CPU busy with other work before the cases", f"{100 * busy:.0f} %"
                )
                api_cases.bench_cases(backend, tmp, sizes.cases, report, worker_counts)
        if not args.skip_large and "postgresql" in backends:
            busy = wait_until_quiet(sizes.quiet_wait)
            report.add(
                "[postgresql] CPU busy with other work before the large queue",
                f"{100 * busy:.0f} %",
            )
            api_queue.bench_queue(tmp, sizes.large_cases, sizes.large_samples, report, args.explain)
    print("\n" + report.table())
    failed = [r for r in report.rows if r.ok is False]
    print(f"\n{len(failed)} target(s) missed" if failed else "\nall targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

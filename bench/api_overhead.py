"""Where an API completion's cost goes beyond the engine floor: CPU per request of one
server worker (granian unless --server gunicorn) for four requests, interleaved so that
whatever else runs on the machine weighs on each alike.

- **floor, in-process**: bench/engine_floor.py's floor in a tight loop (the reference of
  bench/api_complete.py);
- **floor, caches cooled**: the same, with 8 MB of memory read between completions (not
  counted) — what the floor costs when something else ran in between, as a server's
  request handling always does: a tight loop keeps the engine's code and data in the
  CPU's caches;
- **empty POST**: a route answering a small JSON body, nothing else (the server + Flask);
- **floor over HTTP**: the same floor behind a route of the same app and server — JSON in,
  JSON out, no authentication, CSRF, schemas, projections or audit: what serving the floor
  over HTTP costs at least;
- **API completion**: POST /api/v1/tasks/{id}/complete as bench/api_complete.py sends it.

The two extra routes exist only in the app this module builds for the server (`floor_app`).

    .venv/bin/python bench/api_overhead.py [--backend sqlite|postgresql|both] [--n 1000] [--rounds 3]
        [--server granian|gunicorn]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_complete
import engine_floor
from api_support import SERVERS, Client, Server, database, wait_until_quiet

from workflows.runtime import Runtime

_ANSWER = b'{"ok":true}'


def floor_app() -> Any:
    """The served app: the real one, plus POST /bench/floor/<instance> and POST /bench/empty."""
    from flask import Response, request

    from server import create_app

    rt = Runtime()
    app = create_app(rt, serving=True)  # as the server serves the real one: start-up heap frozen
    floors: list[engine_floor.Floor] = []  # made at the first call, in the worker

    @app.post("/bench/floor/<int:instance_id>")
    def bench_floor(instance_id: int) -> Response:
        if not floors:
            floors.append(engine_floor.Floor(rt, "deadline", fresh=False))
        floors[0].complete(instance_id, json.loads(request.get_data())["data"])
        return Response(_ANSWER, content_type="application/json")

    @app.post("/bench/empty")
    def bench_empty() -> Response:
        request.get_data()
        return Response(_ANSWER, content_type="application/json")

    return app


def _cpu_per_call(measure: Callable[[], float], call: Callable[[], None], n: int) -> float:
    before = measure()
    for _ in range(n):
        call()
    return 1000 * (measure() - before) / n


_COOLER = bytearray(8 * 1024 * 1024)


def _cooled_cpu_per_call(call: Callable[[], None], n: int) -> float:
    """CPU per call when the CPU's caches were filled with other data before each one."""
    spent = 0.0
    for _ in range(n):
        bytes(_COOLER)  # reads (and copies) 8 MB: more than this machine's caches hold
        started = time.thread_time()
        call()
        spent += time.thread_time() - started
    return 1000 * spent / n


def bench(
    backend: str, tmp: Path, n: int, rounds: int, quiet_wait: float, server_kind: str
) -> dict[str, list[float]]:
    with database(backend, tmp, "overhead") as url:
        rt = api_complete.completion_world(url, 1)
        pool = api_complete.TaskPool(rt)
        pool.fill(n * rounds + 300)
        ids = engine_floor._start(
            rt, "deadline", {"registered_on": "2026-11-02"}, 3 * n * rounds + 600
        )
        floor = engine_floor.Floor(rt, "deadline")
        floor.copy_states(ids)
        states: Iterator[int] = iter(ids)
        body = json.dumps({"data": api_complete.FORM}, ensure_ascii=False).encode()
        results: dict[str, list[float]] = {
            k: [] for k in ("floor", "floor_cooled", "empty", "floor_http", "api")
        }
        for _ in range(100):  # warm the in-process floor
            floor.complete(next(states), api_complete.FORM)
        busy = wait_until_quiet(quiet_wait)
        print(f"[{backend}] CPU busy with other work before: {100 * busy:.0f} %", flush=True)
        with Server(
            url,
            1,
            tmp,
            server=server_kind,
            app="api_overhead:floor_app()",
            env={"PYTHONPATH": str(ROOT / "bench")},
        ) as server:
            client: Client = server.client().login("clerk00", api_complete.PASSWORD)

            def post(path: str) -> None:
                status, _, answer = client.request("POST", path, raw=body)
                assert status == 200, answer

            def complete() -> None:
                task_id = pool.take()
                assert task_id is not None and api_complete._complete(client, task_id) == 200

            calls: dict[str, Callable[[], None]] = {
                "empty": lambda: post("/bench/empty"),
                "floor_http": lambda: post(f"/bench/floor/{next(states)}"),
                "api": complete,
            }
            for call in calls.values():  # warm-up: caches, the worker's first collections
                for _ in range(150):
                    call()
            for _ in range(rounds):
                results["floor"].append(
                    _cpu_per_call(
                        time.process_time,
                        lambda: floor.complete(next(states), api_complete.FORM),
                        n // 2,
                    )
                )
                results["floor_cooled"].append(
                    _cooled_cpu_per_call(
                        lambda: floor.complete(next(states), api_complete.FORM), n // 2
                    )
                )
                for name, call in calls.items():
                    results[name].append(_cpu_per_call(server.cpu_seconds, call, n))
            client.close()
        rt.db.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--n", type=int, default=1000, help="requests per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds (the lowest counts)"
    )
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--server", default="granian", choices=SERVERS)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"API overhead — {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; "
        f"CPU ms per request, lowest of {args.rounds} interleaved rounds of {args.n}; "
        f"one {args.server} worker",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as name:
        for backend in backends:
            results = bench(backend, Path(name), args.n, args.rounds, args.quiet_wait, args.server)
            floor = min(results["floor"])
            labels = {
                "floor": "engine floor, in-process",
                "floor_cooled": "engine floor, in-process, caches cooled",
                "empty": f"empty POST ({args.server} + Flask)",
                "floor_http": "engine floor over HTTP (same server, nothing else)",
                "api": "POST /api/v1/tasks/{id}/complete",
            }
            for key, label in labels.items():
                best = min(results[key])
                spread = " ".join(f"{v:.2f}" for v in results[key])
                print(
                    f"  [{backend}] {label:<52} {best:6.2f} ms = {best / floor:4.2f}x floor   ({spread})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

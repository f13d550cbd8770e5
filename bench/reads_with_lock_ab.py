"""What sending a completion's reads with its lock saves: the API completion called in-process on
PostgreSQL (the WSGI app with a ready environ, no server), in blocks of 100 requests taking turns
between the reads sent with the lock in one round trip (`prepared.execute_together`, as the
product runs) and the same statements one after the other. Alternating in one process keeps the
host's drift out of the difference; the absolute times are not the served worker's.

    .venv/bin/python bench/reads_with_lock_ab.py [--n 3000]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_complete
from api_support import database

from server import create_app
from workflows.engine import prepared

TOGETHER = prepared.execute_together


def one_after_the_other(conn: Any, statements: list[tuple[Any, Any]]) -> list[Any]:
    return [statement.execute(conn, params) for statement, params in statements]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="requests in all (blocks of 100)")
    args = parser.parse_args()
    arms: dict[str, Callable[..., list[Any]]] = {
        "reads sent with the lock": TOGETHER,
        "one after the other": one_after_the_other,
    }
    with tempfile.TemporaryDirectory() as name, database("postgresql", Path(name), "ab") as url:
        rt = api_complete.completion_world(url, 1)
        pool = api_complete.TaskPool(rt)
        pool.fill(args.n + 300)
        app = create_app(rt, serving=True)
        login = app.test_client().post(
            "/api/v1/auth/login", json={"username": "clerk00", "password": api_complete.PASSWORD}
        )
        csrf = login.get_json()["csrf_token"]
        cookie = "; ".join(
            h.split(";", 1)[0]
            for h in login.headers.getlist("Set-Cookie")
            if h.startswith("cadreflow_session=")
        )
        statuses: list[str] = []

        def complete() -> None:
            body = api_complete._BODY
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": f"/api/v1/tasks/{pool.take()}/complete",
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "5000",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_HOST": "127.0.0.1:5000",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_COOKIE": cookie,
                "HTTP_X_CSRF_TOKEN": csrf,
                "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.multithread": False,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
            }
            answer = b"".join(app(environ, lambda status, _headers: statuses.append(status)))
            if not statuses[-1].startswith("200"):
                raise RuntimeError(f"{statuses[-1]}: {answer[:300]!r}")

        for run in arms.values():  # warm-up: caches, psycopg's prepared statements
            prepared.execute_together = run
            for _ in range(100):
                complete()
        wall: dict[str, list[float]] = {name: [] for name in arms}
        cpu = dict.fromkeys(arms, 0.0)
        names = list(arms)
        for block in range(args.n // 100):
            arm = names[block % 2]
            prepared.execute_together = arms[arm]
            for _ in range(100):
                started, started_cpu = time.perf_counter(), time.process_time()
                complete()
                wall[arm].append((time.perf_counter() - started) * 1000)
                cpu[arm] += time.process_time() - started_cpu
        prepared.execute_together = TOGETHER
        for arm, samples in wall.items():
            print(
                f"{arm:<26} wall median {statistics.median(samples):.3f} ms, "
                f"CPU {1000 * cpu[arm] / len(samples):.3f} ms per request ({len(samples)})"
            )
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

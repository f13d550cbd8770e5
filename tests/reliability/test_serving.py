"""The README's production command serves the app: granian, the factory, one worker, on the
test's database — health, a sign-in, an authorized read and a refusal over one kept-alive
connection, a body too large refused before it is sent, then a clean stop on SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.world import make_world
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
GRANIAN = Path(sys.executable).with_name("granian")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CADREFLOW_DATABASE_URL": url}
    env.pop("CLOCK_ADJUSTABLE", None)
    command = [
        str(GRANIAN),
        "--interface",
        "wsgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        "1",
        "server:create_app",
    ]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"granian did not come up: {log.read_text()[-2000:]}")


def _too_large_is_refused_unread(port: int) -> None:
    """300 MB announced, 64 KB sent: the 413 problem comes back without waiting for the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: cadreflow\r\n"
            b"Content-Type: application/json\r\nContent-Length: 314572800\r\n\r\n" + b"x" * 65536
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(4096)
            assert chunk, answer
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"application/problem+json" in rest.lower()


def test_granian_serves_the_app_as_the_readme_says(rt: Runtime, tmp_path: Path) -> None:
    make_world(rt)
    port, log = _free_port(), tmp_path / "granian.log"
    proc = _serve(rt.settings.database_url, port, log)
    try:
        _wait_healthy(proc, port, log)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def call(
            method: str, path: str, body: object = None, **headers: str
        ) -> tuple[int, http.client.HTTPMessage, dict]:
            payload = None if body is None else json.dumps(body)
            if payload is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, payload, headers)
            answer = conn.getresponse()
            data = answer.read()
            return answer.status, answer.headers, json.loads(data) if data else {}

        status, _, wrong = call(
            "POST", "/api/v1/auth/login", {"username": "discipline.hf", "password": "nope"}
        )
        assert status == 401 and wrong["status"] == 401
        sock = conn.sock
        status, headers, login = call(
            "POST", "/api/v1/auth/login", {"username": "discipline.hf", "password": "demo-pass-1"}
        )
        assert status == 200 and login["csrf_token"]
        cookie = next(
            c.split(";", 1)[0]
            for c in headers.get_all("Set-Cookie") or []
            if c.startswith("cadreflow_session=")
        )
        status, _, page = call("GET", "/api/v1/tasks", Cookie=cookie)
        assert status == 200 and "items" in page
        status, _, refused = call("GET", "/api/v1/tasks")
        assert status == 401 and refused["status"] == 401
        status, _, forged = call(
            "POST", "/api/v1/auth/logout", {}, Cookie=cookie, **{"X-CSRF-Token": "forged"}
        )
        assert status == 403 and forged["status"] == 403
        assert conn.sock is sock, "the connection was not kept alive"
        conn.close()
        _too_large_is_refused_unread(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-2000:]

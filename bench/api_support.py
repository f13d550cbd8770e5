"""What bench/api_complete.py needs around the API: a throwaway database, the HTTP server
(granian, as README.md deploys it, or gunicorn to compare) it starts and stops, a small
keep-alive HTTP client, and latency statistics.

The client speaks HTTP/1.1 on a raw socket with pre-built requests: on a 2-core machine
the client shares the CPU with the server, and every microsecond it spends parsing
headers is taken from the workers it measures.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("CADREFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
_TICK = os.sysconf("SC_CLK_TCK")


# -- databases ---------------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file in `workdir`, or a PostgreSQL database
    created on the bench server and dropped (forcibly) afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{label}.db'}"
        return
    name = f"cadreflow_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVERS = ("granian", "gunicorn")


@dataclass
class Server:
    """The HTTP server serving `server:create_app()` on a free local port: granian (the
    deployment README.md describes) or gunicorn, with `workers` processes of `threads`
    threads each answering one request at a time."""

    database_url: str
    workers: int
    workdir: Path
    threads: int = 1
    server: str = "granian"
    worker_class: str = "sync"  # gunicorn's: one request per connection; `gthread` keeps them alive
    env: dict[str, str] = field(default_factory=dict)
    app: str = "server:create_app()"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.server}-{self.port}.log"

    def command(self) -> list[str]:
        if self.server == "granian":
            factory = self.app.removesuffix("()")
            return [
                str(ROOT / ".venv" / "bin" / "granian"),
                "--interface",
                "wsgi",
                *(["--factory"] if factory != self.app else []),
                "--workers",
                str(self.workers),
                "--blocking-threads",
                str(self.threads),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                "--no-access-log",
                factory,
            ]
        return [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--keep-alive",
            "75",
            "--backlog",
            "2048",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            self.app,
        ]

    def __enter__(self) -> Self:
        self.port = free_port()
        env = {
            **os.environ,
            "CADREFLOW_DATABASE_URL": self.database_url,
            "PYTHONDONTWRITEBYTECODE": "1",
            **self.env,
        }
        if "CLOCK_ADJUSTABLE" not in self.env:  # production-like unless asked for
            env.pop("CLOCK_ADJUSTABLE", None)
        cmd = self.command()
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.server} exited: {self.log.read_text()[-2000:]}")
            if len(self.worker_pids()) == self.workers and _healthy(self.port):
                for _ in range(self.workers * 4):  # every worker imports and connects once
                    _healthy(self.port)
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.server} did not come up: {self.log.read_text()[-2000:]}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in children.split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time the workers have used so far."""
        total = 0
        for pid in self.worker_pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / _TICK

    def client(self) -> Client:
        return Client("127.0.0.1", self.port)


def _healthy(port: int) -> bool:
    try:
        status, _, _ = Client("127.0.0.1", port).request("GET", "/healthz")
        return status == 200
    except OSError:
        return False


# -- the client --------------------------------------------------------------------------


class HTTPError(Exception):
    def __init__(self, status: int, body: bytes, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {body[:600].decode('utf-8', 'replace')}")
        self.status = status
        self.body = body


class Client:
    """One client with its login session (cookie and CSRF token); its connection stays open
    while the server keeps it alive (gthread), else one per request (sync)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock: socket.socket | None = None
        self.cookie = ""
        self.csrf = ""
        self.username = ""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        accept: str = "application/json",
    ) -> tuple[int, dict[str, str], bytes]:
        payload = (
            raw
            if raw is not None
            else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
        )
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Accept: {accept}"]
        if self.cookie:
            head.append(f"Cookie: {self.cookie}")
            if method not in ("GET", "HEAD"):
                head.append(f"X-CSRF-Token: {self.csrf}")
        if payload or method not in ("GET", "HEAD"):
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        for attempt in (1, 2):
            fresh = self.sock is None
            sock = self.sock or self._connect()
            try:
                sock.sendall(message)
                return self._read(sock)
            except _ClosedBeforeReply:
                # The server closed an idle keep-alive connection before reading the
                # request: nothing was processed, so sending it again is safe.
                self.close()
                if fresh or attempt == 2:
                    raise ConnectionError("server closed the connection") from None
            except OSError:
                self.close()
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _read(self, sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                if not buf:
                    raise _ClosedBeforeReply
                raise ConnectionError("connection closed inside a response")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}\n{value}" if key in headers else value
        if "content-length" in headers:
            need = int(headers["content-length"])
            while len(rest) < need:
                chunk = sock.recv(max(65536, need - len(rest)))
                if not chunk:
                    raise ConnectionError("connection closed inside a body")
                rest += chunk
            body = rest[:need]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, rest = _dechunk(sock, rest)
        else:
            body = rest
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    # -- the API ---------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, _, data = self.request(method, path, body)
        if status != expect:
            raise HTTPError(status, data, f"{method} {path}")
        return json.loads(data) if data else None

    def login(self, username: str, password: str) -> Client:
        status, headers, data = self.request(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        if status != 200:
            raise HTTPError(status, data, f"login {username}")
        cookies = []
        for line in headers.get("set-cookie", "").split("\n"):
            pair = line.split(";", 1)[0].strip()
            if pair.startswith("cadreflow_session="):
                cookies.append(pair)
        self.cookie = "; ".join(cookies)
        self.csrf = json.loads(data)["csrf_token"]
        self.username = username
        return self


class _ClosedBeforeReply(ConnectionError):
    pass


def _dechunk(sock: socket.socket, rest: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        while b"\r\n" not in rest:
            rest += sock.recv(65536)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(rest) < size + 2:
            rest += sock.recv(65536)
        body += rest[:size]
        rest = rest[size + 2 :]
        if size == 0:
            return body, rest


# -- statistics ----------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank on sorted samples."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def timed_ms(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def note(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


# -- the machine -----------------------------------------------------------------------------


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:8]]
    return sum(values), values[3] + values[4]  # idle + iowait


def cpu_busy(seconds: float = 1.0) -> float:
    """The share of all CPUs busy over the next `seconds` (0–1)."""
    total0, idle0 = _cpu_times()
    time.sleep(seconds)
    total1, idle1 = _cpu_times()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Waits (up to `max_wait` seconds) until other processes leave the CPUs mostly idle:
    this machine is shared, and a busy neighbour halves the throughput measured.
    Returns the busy share last seen."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return busy

"""DOCX → PDF with LibreOffice headless (Debian's libreoffice-writer-nogui), fonts embedded.

A conversion is bounded (TIMEOUT seconds, then the process group is killed) and runs with a
LibreOffice profile of its own process (`-env:UserInstallation`), one conversion at a time per
process, so parallel workers never share a profile. Fonts resolve through `fonts.conf` beside
this file: the Word/WPS names the templates use map to the CJK fonts Debian ships; LibreOffice's
HOME is a temporary directory.

When Debian's `/usr/bin/python3` has UNO (`python3-uno`), each process keeps one LibreOffice
running: `office_worker.py`, run by that interpreter in a process group of its own, starts
soffice and converts over UNO, one JSON line each way on its stdin/stdout. A conversion then
costs the document's work, not LibreOffice's start (about a second). The helper is started on
the first conversion, belongs to the process that started it (a forked child, a gunicorn or
pytest-xdist worker, starts its own), is started again when it died, timed out or failed, and
is asked to quit when the process exits. The timeout covers the helper's start as well. Without
UNO each conversion runs `soffice --convert-to` once.

The caller converts outside its database write transaction (SQLite holds one write lock for
the whole database) and stores the result in a short transaction of its own.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from workflows.messages import t

TIMEOUT = 90.0
FONTS_CONF = Path(__file__).with_name("fonts.conf")
WORKER = Path(__file__).with_name("office_worker.py")
#: The interpreter Debian's python3-uno is built for (not this process's Python).
UNO_PYTHON = "/usr/bin/python3"
QUIT_WAIT = 5.0
_ONE_AT_A_TIME = threading.Lock()


class ConversionFailed(Exception):
    """The converter is missing, timed out or produced no PDF; the message says which."""


def available() -> bool:
    return shutil.which("soffice") is not None


@functools.cache
def uno_available() -> bool:
    """Whether conversions go through a kept LibreOffice (UNO importable by UNO_PYTHON)."""
    try:
        found = subprocess.run(
            [UNO_PYTHON, "-I", "-c", "import uno"], check=False, capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


def _profile() -> Path:
    """This process's LibreOffice profile directory (created by LibreOffice on first use)."""
    return Path(tempfile.gettempdir()) / f"cadreflow-office-{os.getuid()}-{os.getpid()}"


def _soffice() -> str:
    soffice = shutil.which("soffice")
    if soffice is None:
        raise ConversionFailed(t("未安装 LibreOffice（soffice）：请运行 make .stamp-office"))
    return soffice


def _timed_out(timeout: float) -> ConversionFailed:
    return ConversionFailed(t("转换 PDF 超时（%(timeout)s 秒）", timeout=f"{timeout:g}"))


def to_pdf(docx: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """The PDF of a DOCX document, or ConversionFailed."""
    soffice = _soffice()
    if not uno_available():
        return to_pdf_once(docx, timeout=timeout)
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="cadreflow-pdf-") as work:
        deadline = time.monotonic() + timeout
        source = Path(work) / "document.docx"
        target = source.with_suffix(".pdf")
        source.write_bytes(docx)
        request = {"source": str(source), "target": str(target)}
        helper, reply = _ask(soffice, request, deadline, timeout)
        if reply is None:
            _discard(helper, quit_first=False)
            raise _timed_out(timeout)
        if not reply.get("ok") or not target.exists():
            _discard(helper, quit_first=True)  # a fresh LibreOffice for the next document
            raise ConversionFailed(_refusal(reply))
        return target.read_bytes()


def _refusal(reply: dict[str, Any]) -> str:
    """What the helper's failed reply means, in the user's words."""
    detail = str(reply.get("detail") or "")
    if reply.get("error") == "open":
        return t("转换 PDF 失败：LibreOffice 无法打开该 DOCX %(detail)s", detail=detail)
    if reply.get("error") == "store":
        return t("转换 PDF 失败：LibreOffice 无法写出 PDF %(detail)s", detail=detail)
    return t("转换 PDF 失败：LibreOffice 未生成 PDF")


# --- the kept LibreOffice ---------------------------------------------------------------


class _HelperDied(Exception):
    """The helper's pipe closed before it replied; the message is the end of its log."""


@dataclasses.dataclass
class _Helper:
    process: subprocess.Popen[bytes]
    owner: int  # the pid that started it: a forked child never uses its parent's helper
    home: Path  # HOME for LibreOffice, with the helper's log
    pending: bytes = b""

    @property
    def log(self) -> Path:
        return self.home / "office.log"

    def tail(self) -> str:
        try:
            said = self.log.read_bytes()[-500:].decode("utf-8", "replace").strip()
        except OSError:
            said = ""
        return said or f"the LibreOffice helper exited ({self.process.poll()})"

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        """The helper's reply, None if none came before `deadline`; _HelperDied if it is gone."""
        self.send(request)
        return self.receive(deadline)

    def send(self, request: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the pipe was closed here
            raise _HelperDied(self.tail()) from None

    def receive(self, deadline: float) -> dict[str, Any] | None:
        stdout = self.process.stdout
        assert stdout is not None
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                return None
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                self.process.wait()
                raise _HelperDied(self.tail())
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply


_helper: _Helper | None = None


def _ask(
    soffice: str, request: dict[str, Any], deadline: float, timeout: float
) -> tuple[_Helper, dict[str, Any] | None]:
    """The kept helper's reply to `request` (None when `deadline` passed), a helper started
    first if there is none or the kept one turns out to have died."""
    helper = _kept()
    if helper is not None:
        try:
            return helper, helper.ask(request, deadline)
        except _HelperDied:  # killed since the last conversion: start another, once
            _discard(helper, quit_first=False)
    helper = _start(soffice, deadline, timeout)
    try:
        return helper, helper.ask(request, deadline)
    except _HelperDied as died:
        _discard(helper, quit_first=False)
        raise ConversionFailed(t("转换 PDF 失败：%(detail)s", detail=str(died))) from None


def _kept() -> _Helper | None:
    """This process's running helper, if it has one."""
    global _helper
    if _helper is not None and _helper.owner != os.getpid():
        _helper = None  # the parent's, inherited by fork: theirs to use and stop
    if _helper is not None and _helper.process.poll() is not None:
        _discard(_helper, quit_first=False)
    return _helper


def _start(soffice: str, deadline: float, timeout: float) -> _Helper:
    global _helper
    home = Path(tempfile.mkdtemp(prefix="cadreflow-office-home-"))
    pipe = f"cadreflow-office-{os.getuid()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    environment = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF), "HOME": str(home)}
    with (home / "office.log").open("wb") as log:
        process = subprocess.Popen(
            [UNO_PYTHON, "-I", str(WORKER), soffice, pipe, _profile().as_uri()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=environment,
            start_new_session=True,  # its own process group, soffice included, killed whole
        )
    helper = _Helper(process=process, owner=os.getpid(), home=home)
    try:
        ready = helper.receive(deadline)
    except _HelperDied as died:
        _discard(helper, quit_first=False)
        raise ConversionFailed(t("转换 PDF 失败：%(detail)s", detail=str(died))) from None
    if ready is None:
        _discard(helper, quit_first=False)
        raise _timed_out(timeout)
    _helper = helper
    return helper


def _discard(helper: _Helper, *, quit_first: bool) -> None:
    """Stop `helper` (asked to quit first if `quit_first`, its group killed if it lingers)."""
    global _helper
    if _helper is helper:
        _helper = None
    process = helper.process
    if quit_first and process.poll() is None:
        try:
            helper.send({"quit": True})
        except _HelperDied:
            pass
        try:
            process.wait(timeout=QUIT_WAIT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # soffice too, even when the helper is gone
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except BrokenPipeError:  # a request it never read, still buffered: closed anyway
                pass
    shutil.rmtree(helper.home, ignore_errors=True)


def worker_pid() -> int | None:
    """The pid of this process's LibreOffice helper (its process group's id), if one runs."""
    helper = _kept()
    return None if helper is None else helper.process.pid


def stop() -> None:
    """Ask this process's helper to quit (its group killed if it lingers); the next
    conversion starts another. Run at exit."""
    if not _ONE_AT_A_TIME.acquire(timeout=QUIT_WAIT):  # a conversion still running
        if _helper is not None and _helper.owner == os.getpid():
            os.killpg(_helper.process.pid, signal.SIGKILL)
        return
    try:
        helper = _kept()
        if helper is not None:
            _discard(helper, quit_first=True)
    finally:
        _ONE_AT_A_TIME.release()


def _forget_after_fork() -> None:
    """In a forked child: the parent's helper and lock are the parent's."""
    global _helper, _ONE_AT_A_TIME
    _ONE_AT_A_TIME = threading.Lock()
    if _helper is not None:
        for stream in (_helper.process.stdin, _helper.process.stdout):
            if stream is not None:
                stream.close()  # so the helper sees its stdin end when the parent goes
        _helper = None


atexit.register(stop)
os.register_at_fork(after_in_child=_forget_after_fork)


# --- one LibreOffice per conversion (no UNO) ----------------------------------------------


def to_pdf_once(docx: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """The PDF of a DOCX document from a LibreOffice started for it, or ConversionFailed."""
    soffice = _soffice()
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="cadreflow-pdf-") as work:
        source = Path(work) / "document.docx"
        source.write_bytes(docx)
        command = [
            soffice,
            f"-env:UserInstallation={_profile().as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            work,
            str(source),
        ]
        environment = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF), "HOME": work}
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=True,  # its own process group, to be killed whole on timeout
        )
        try:
            _out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise _timed_out(timeout) from None
        target = source.with_suffix(".pdf")
        if process.returncode != 0 or not target.exists():
            detail = err.decode("utf-8", "replace").strip()[-500:]
            raise ConversionFailed(
                t(
                    "转换 PDF 失败（退出码 %(returncode)s）：%(detail)s",
                    returncode=process.returncode,
                    detail=detail,
                )
            )
        return target.read_bytes()

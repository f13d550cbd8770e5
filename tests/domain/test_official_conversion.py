"""DOCX → PDF through the LibreOffice kept per process (`conversion.py`, over UNO), with the
real LibreOffice: conversions reuse one helper; a corrupt DOCX fails alone; a helper killed
from outside, timed out, or inherited by a forked child is never used again; the one-shot
`--convert-to` path (no python3-uno) still converts."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workflows.official import context, conversion, kinds, templates

pytestmark = pytest.mark.usefixtures("uno")


@pytest.fixture(scope="module")
def uno() -> None:
    assert conversion.available(), "LibreOffice missing: make .stamp-office"
    assert conversion.uno_available(), (
        f"{conversion.UNO_PYTHON} cannot import uno: rm .stamp-office && make .stamp-office"
    )


@pytest.fixture(scope="module")
def docx() -> bytes:
    shipped = templates.shipped(kinds.ACCOUNTABILITY)
    return templates.render(shipped.content, context.sample(kinds.KINDS[kinds.ACCOUNTABILITY]))


def _alive_in_group(group: int) -> list[str]:
    """The processes of `group` not dead yet (zombies that nobody reaps count as dead)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone while listing
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state not in ("Z", "X"):
            alive.append(stat.parent.name)
    return alive


def _gone(group: int, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while _alive_in_group(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _timed(docx: bytes) -> tuple[bytes, float]:
    start = time.perf_counter()
    pdf = conversion.to_pdf(docx)
    return pdf, time.perf_counter() - start


def test_conversions_in_a_row_reuse_one_helper_and_skip_the_start(docx: bytes) -> None:
    conversion.stop()
    assert conversion.worker_pid() is None
    first, started = _timed(docx)
    helper = conversion.worker_pid()
    second, reused = _timed(docx)
    assert first.startswith(b"%PDF") and second.startswith(b"%PDF")
    assert helper is not None and conversion.worker_pid() == helper
    assert reused < started, (reused, started)


def test_a_corrupt_docx_fails_and_the_next_conversion_works(docx: bytes) -> None:
    with pytest.raises(conversion.ConversionFailed, match="转换 PDF 失败"):
        conversion.to_pdf(docx[: len(docx) // 2])
    assert conversion.to_pdf(docx).startswith(b"%PDF")


def test_a_helper_killed_from_outside_is_started_again(docx: bytes) -> None:
    conversion.to_pdf(docx)
    killed = conversion.worker_pid()
    assert killed is not None
    os.kill(killed, signal.SIGKILL)  # the helper only: its soffice is left running
    assert conversion.to_pdf(docx).startswith(b"%PDF")
    started = conversion.worker_pid()
    assert started is not None and started != killed
    assert _gone(killed, within=5), _alive_in_group(killed)  # soffice killed with its group


def test_a_helper_that_died_holding_an_unsent_request_is_put_away(tmp_path: Path) -> None:
    """A helper dies between the check that it lives and the next request: the request stays
    in the pipe's buffer, unsent; putting the helper away must not fail on it (it did: the
    conversion that should have started a new helper failed with a broken pipe instead)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "pass"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    process.wait()  # gone: nothing reads its stdin any more
    dead = conversion._Helper(process=process, owner=os.getpid(), home=tmp_path / "home")
    with pytest.raises(conversion._HelperDied):
        dead.send({"source": "a.docx", "target": "a.pdf"})
    conversion._discard(dead, quit_first=False)
    assert process.stdin is not None and process.stdin.closed


def test_the_timeout_kills_the_helpers_group(docx: bytes) -> None:
    conversion.to_pdf(docx)
    helper = conversion.worker_pid()
    assert helper is not None and _alive_in_group(helper)
    with pytest.raises(conversion.ConversionFailed, match="转换 PDF 超时（0.001 秒）"):
        conversion.to_pdf(docx, timeout=0.001)
    assert conversion.worker_pid() is None
    assert _gone(helper, within=5), _alive_in_group(helper)


def test_a_timeout_while_the_helper_starts_kills_it(docx: bytes) -> None:
    conversion.stop()
    with pytest.raises(conversion.ConversionFailed, match="超时"):
        conversion.to_pdf(docx, timeout=0.2)
    assert conversion.worker_pid() is None
    assert conversion.to_pdf(docx).startswith(b"%PDF")


def _in_forked_child(docx: bytes, results: multiprocessing.Queue[tuple[int | None, int]]) -> None:
    inherited = conversion.worker_pid()
    conversion.to_pdf(docx)
    own = conversion.worker_pid()
    assert own is not None
    results.put((inherited, own))


def test_a_forked_child_starts_its_own_helper_which_ends_with_it(docx: bytes) -> None:
    """As a server worker forked after the app converted: the child never writes to its
    parent's helper, and its own ends when the child exits (here without running atexit)."""
    conversion.to_pdf(docx)
    parents = conversion.worker_pid()
    forking = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[tuple[int | None, int]] = forking.Queue()
    child = forking.Process(target=_in_forked_child, args=(docx, results))
    child.start()
    inherited, childs = results.get(timeout=120)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert inherited is None and childs != parents
    assert _gone(childs, within=30), _alive_in_group(childs)
    assert conversion.worker_pid() == parents
    assert conversion.to_pdf(docx).startswith(b"%PDF")


def test_the_one_shot_conversion_still_converts(docx: bytes) -> None:
    """The path taken where python3-uno is missing: soffice --convert-to, once (with no
    helper running: a second soffice on the same profile hands its work to the first)."""
    conversion.stop()
    assert conversion.to_pdf_once(docx).startswith(b"%PDF")

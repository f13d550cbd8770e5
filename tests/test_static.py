"""The code stays ruff-formatted and ruff- and mypy-clean (STYLE.md), lines within the
length rule (pyproject.toml): checked on every run, not by habit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ruff_finds_nothing() -> None:
    done = subprocess.run(
        [str(BIN / "ruff"), "check", "workflows", "server", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_as_ruff_formats_it() -> None:
    done = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", "workflows", "server", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, "run `ruff format`:\n" + done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    done = subprocess.run(
        [str(BIN / "mypy"), "workflows", "server"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

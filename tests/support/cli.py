"""`cadreflow ARGS` for the tests: in this process, or as the real console script.

In this process, the console script's own entry point (`server.cli:main`) runs with the
arguments, the environment and the working directory the subprocess would have had; its
output, error output and exit code come back as a `CompletedProcess`, and an exception
that escapes is printed as the interpreter would (a traceback, exit 1). That is the same code
path minus the interpreter's start (about 1.5 s a command here), so a test that drives a
scenario through many commands runs them in-process, and keeps a real subprocess for what
only the process proves: the script's exit codes and one-line errors, `--debug` tracebacks,
long-running `scheduler`/`serve` processes, the environment read at start.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

from click.testing import CliRunner

from server.cli import main

ROOT = Path(__file__).resolve().parents[2]
CADREFLOW = Path(sys.executable).with_name("cadreflow")
#: Settings the commands read from the environment: a test names those it wants.
OWN_VARIABLES = ("CADREFLOW_", "CLOCK_ADJUSTABLE")


def cli_env(**settings: str) -> dict[str, str]:
    """This process's environment without any cadreflow setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    env.update(settings)
    return env


def cadreflow(
    *args: str,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    subprocess_: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`cadreflow ARGS` with exactly `env` as its environment, in `cwd`: in this process, or
    with `subprocess_=True` as the installed console script."""
    argv = [str(CADREFLOW), *args]
    if subprocess_:
        return subprocess.run(
            argv,
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    with _environment(env), contextlib.chdir(cwd):
        result = CliRunner().invoke(main, list(args), prog_name="cadreflow")
    stderr = result.stderr
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
        code = 1
    return subprocess.CompletedProcess(argv, code, result.stdout, stderr)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ is `env` for the block, as a subprocess's would be; restored after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)

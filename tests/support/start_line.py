"""The start line of a race between worker processes: each worker, connected and warmed up,
says it is ready and waits for the start; the test starts the race once every worker is ready
(not after a guessed sleep: a slow start would let the first worker run alone, a generous
sleep is paid by every race)."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: How long either side waits for the other before giving up.
PATIENCE = 60.0


def _ready_marks(start: Path) -> list[Path]:
    return list(start.parent.glob(f"{start.name}.ready-*"))


def wait(start: Path | str) -> bool:
    """In a worker: say this process is ready, then wait for the start; False if none came."""
    start = Path(start)
    start.with_name(f"{start.name}.ready-{os.getpid()}").touch()
    deadline = time.monotonic() + PATIENCE
    while not start.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def release(start: Path, workers: int) -> None:
    """In the test: start the race once `workers` workers are waiting at the line."""
    deadline = time.monotonic() + PATIENCE
    while len(_ready_marks(start)) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(_ready_marks(start))} of {workers} workers at the start line")
        time.sleep(0.005)
    start.touch()

"""A worker process for the concurrent mail-delivery tests: runs the scheduler's delivery job
until nothing is left for it, after every worker is ready (a start file appears).

    python -m tests.support.mail_worker <mode> <database_url> <smtp_url> <start_file>

Prints how many mails it sent as JSON. Modes: `product` runs the job as shipped; `unclaimed`
is the negative control: the due mail is selected without its row lock (no FOR UPDATE SKIP
LOCKED), so two workers can take the same row — the counting test must see the duplicates."""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.support import start_line
from workflows.config import Settings
from workflows.engine import settings
from workflows.runtime import Runtime
from workflows.tasks import mail


def _take_rows_without_claiming_them() -> None:
    def unclaimed(_session: Any, query: Any) -> Any:
        return query

    mail._claimed = unclaimed  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    mode, url, smtp_url, start_file = argv
    if mode == "unclaimed":
        _take_rows_without_claiming_them()
    rt = Runtime(
        Settings(
            database_url=url, smtp_url=smtp_url, clock_adjustable=True, timezone="Asia/Shanghai"
        )
    )
    with rt.db.reading() as session:  # connect and warm up before the start line
        settings.sync_clock(session, rt.clock)
    if not start_line.wait(start_file):
        print(json.dumps({"error": "no start signal"}))
        return 2
    sent = 0
    while True:
        done = mail.deliver(rt.db, clock=rt.clock)
        sent += done
        if done == 0:
            break
    print(json.dumps({"sent": sent}))
    rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

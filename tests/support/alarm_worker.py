"""A worker process for the concurrent time-limit alarm tests: runs the scheduler's alarm sweep
(办理时限提醒) until it raises nothing more, after every worker is ready (a start file appears).

    python -m tests.support.alarm_worker <mode> <database_url> <batch> <start_file>

Prints how many notices it raised as JSON. Modes: `product` sweeps with the claim as shipped
(`Claim()`); `unclaimed` is the negative control (`Claim(lock=False, dedupe=False)`): due alarms
are read without their row lock and notices raised without their once-only key, so two workers
can fire the same alarm — the counting test must see the duplicates. The clock is the shared
one: the sweep adopts the offset the test stored (`settings.sync_clock`)."""

from __future__ import annotations

import json
import sys
import time

from tests.support import start_line
from workflows.config import Settings
from workflows.engine import settings
from workflows.runtime import Runtime
from workflows.tasks import deadlines

CLAIMS = {"product": deadlines.Claim(), "unclaimed": deadlines.Claim(lock=False, dedupe=False)}


def main(argv: list[str]) -> int:
    mode, url, batch, start_file = argv
    claim = CLAIMS[mode]
    rt = Runtime(Settings(database_url=url, clock_adjustable=True, timezone="Asia/Shanghai"))
    with rt.db.reading() as session:  # connect and warm up before the start line
        settings.sync_clock(session, rt.clock)
    if not start_line.wait(start_file):
        print(json.dumps({"error": "no start signal"}))
        return 2
    began = time.monotonic()
    raised = 0
    while True:
        done = deadlines.sweep(rt.db, clock=rt.clock, batch=int(batch), claim=claim)
        raised += done
        if done == 0:
            break
    print(json.dumps({"raised": raised, "seconds": round(time.monotonic() - began, 3)}))
    rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

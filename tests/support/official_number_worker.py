"""A worker process for the 文号 race: once a start file appears, completes one 问责决定 (which
issues its 问责决定书 with the unit's next 文号) in one transaction and prints what it got.

    python -m tests.support.official_number_worker <mode> <database_url> <forms_dir>
        <start_file> <task_id> <user> <form data as JSON>

Modes: `product` runs the code as shipped; `unlocked` is the negative control — the defect the
race test guards against put in: the next number read as the highest one issued plus one, with
a pause between the read and the write, so that racers read the same highest number.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.support import start_line
from workflows.config import Settings
from workflows.engine import instances, settings
from workflows.errors import DomainError
from workflows.official import numbering
from workflows.official.models import OfficialDocument
from workflows.runtime import Runtime

PAUSE = 0.5  # seconds between reading the highest number and writing the next, in `unlocked`
# (the workers start together: start_line)


def _highest_plus_one(session: Session, *, org_unit_code: str, prefix: str, year: int) -> int:
    highest = session.execute(
        select(func.max(OfficialDocument.seq)).where(
            OfficialDocument.org_unit_code == org_unit_code,
            OfficialDocument.prefix == prefix,
            OfficialDocument.year == year,
        )
    ).scalar()
    time.sleep(PAUSE)
    return int(highest or 0) + 1


def main(argv: list[str]) -> int:
    mode, url, forms, start_file, task_id, user, data = argv
    if mode == "unlocked":
        numbering.allocate = _highest_plus_one  # type: ignore[assignment]
    rt = Runtime(
        Settings(
            database_url=url, clock_adjustable=True, forms_dir=Path(forms), timezone="Asia/Shanghai"
        )
    )
    with rt.db.reading() as session:  # connect and warm up before the start line
        settings.sync_clock(session, rt.clock)
    if not start_line.wait(start_file):
        print(json.dumps({"won": False, "error": "no start signal"}))
        return 2
    try:
        with rt.transaction() as session:
            instances.complete_task(
                session, task_id=int(task_id), data=json.loads(data), actor=user, clock=rt.clock
            )
        print(json.dumps({"won": True}))
    except (DomainError, IntegrityError) as err:
        print(json.dumps({"won": False, "error": type(err).__name__}))
    finally:
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

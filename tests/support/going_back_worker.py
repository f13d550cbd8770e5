"""A worker process for the 退回-against-completion race: once a start file appears, either
sends one step back or completes it, in one transaction, and prints whether it won.

    python -m tests.support.going_back_worker <mode> <database_url> <forms_dir> <start_file>
        return|complete <task_id> <user> <to_step or form data as JSON>

Modes: `product` runs the code as shipped; `unlocked` is the negative control — the defect
the race test guards against put back: the instance read without its row lock and its state
written without the version check, with a pause after the engine state is read so that both
racers read it before either writes. Then both may commit, and the counting test must see it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update

from tests.support import start_line
from workflows import access
from workflows.config import Settings
from workflows.engine import instances, settings
from workflows.engine.prepared import Prepared
from workflows.errors import DomainError
from workflows.runtime import Runtime
from workflows.tasks import going_back

PAUSE = 0.5  # seconds between reading the engine state and writing it, in `unlocked`


def _put_back_the_unlocked_write() -> None:
    table, tasks = instances._INSTANCES, instances._TASKS
    instances._LOCK = instances._LOCKED.where(table.c.id == bindparam("iid"))
    instances._LOCK_WITH_TASK = Prepared(
        "instances.lock_with_task_unlocked",
        instances._LOCKED.add_columns(
            tasks.c.id.label("task_id"),
            tasks.c.state.label("task_state"),
            tasks.c.form,
            tasks.c.spiff_task_id,
            tasks.c.task_spec,
        )
        .join(tasks, tasks.c.instance_id == table.c.id)
        .where(tasks.c.id == bindparam("tid")),
    )
    unversioned = Prepared(
        "instances.write_state_unversioned",
        update(table)
        .where(table.c.id == bindparam("iid"))
        .values(
            state=bindparam("state"),
            state_format=bindparam("fmt"),
            version=bindparam("next"),
            status=bindparam("status"),
            updated_at=bindparam("now"),
            completed_at=bindparam("done_at"),
        ),
    )
    instances._WRITE_STATE = instances._WRITE_STATE_AUDITED = unversioned
    restore: Callable[..., Any] = instances.engine.restore

    def slow_restore(*args: Any, **kwargs: Any) -> Any:
        run = restore(*args, **kwargs)
        time.sleep(PAUSE)
        return run

    instances.engine.restore = slow_restore  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    mode, url, forms, start_file, action, task_id, user, argument = argv
    if mode == "unlocked":
        _put_back_the_unlocked_write()
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
            if action == "return":
                going_back.send_back(
                    session,
                    principal=access.principal_for(session, username=user),
                    task_id=int(task_id),
                    to_step=argument,
                    reason="补充调查",
                    clock=rt.clock,
                )
            else:
                instances.complete_task(
                    session,
                    task_id=int(task_id),
                    data=json.loads(argument),
                    actor=user,
                    clock=rt.clock,
                )
        print(json.dumps({"won": True}))
    except DomainError as err:
        print(json.dumps({"won": False, "error": type(err).__name__}))
    finally:
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

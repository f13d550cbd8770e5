"""A worker process for the concurrent-audit tests: completes the tasks it is given, one
transaction each, as fast as it can, after every worker is ready (a start file appears).

    python -m tests.support.audit_worker <mode> <database_url> <forms_dir> <start_file> <task_id>...

Prints its outcome counts as JSON. Modes: `product` runs the code as shipped; the other two
are negative controls that put back the head update of the defect this test guards
against (a condition on the old `last_id`, which matches nothing when another process moved
the head while this one waited for its lock): `stale-head` with the state write's guard
(the change must then be refused, never committed without its row), `stale-head-unguarded`
without it (rows go missing: the counting test must see it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select

from tests.support import start_line
from workflows.config import Settings
from workflows.engine import audit, instances, settings
from workflows.engine.models import AuditHead, table_of
from workflows.engine.prepared import Prepared
from workflows.errors import AuditNotWritten
from workflows.runtime import Runtime

VALID = {"responsible": True, "severity": 2, "finding": "应负直接责任"}


def _put_back_stale_head_update(*, guarded: bool) -> None:
    ctes = list(audit.chain_ctes(table_of(AuditHead).c.last_id == audit.chain_ctes()[0].c.last_id))
    product = audit.appending_ctes

    def appending(values: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        return ctes, product(values)[1]

    audit.appending_ctes = appending  # type: ignore[assignment]
    state = instances._WRITE_STATE
    # Guarded: the state write requires this statement's own audit row, as shipped.
    instances._WRITE_STATE_AUDITED = (
        Prepared(
            "instances.write_state_stale_head", state.statement.where(exists(select(ctes[2].c.id)))
        )
        if guarded
        else state
    )


def main(argv: list[str]) -> int:
    mode, url, forms, start_file, *task_ids = argv
    if mode != "product":
        _put_back_stale_head_update(guarded=mode == "stale-head")
    rt = Runtime(
        Settings(
            database_url=url, clock_adjustable=True, forms_dir=Path(forms), timezone="Asia/Shanghai"
        )
    )
    with rt.db.reading() as session:  # connect and warm up before the start line
        settings.sync_clock(session, rt.clock)
    if not start_line.wait(start_file):
        print(json.dumps({"error": "no start signal"}))
        return 2
    done = refused = 0
    for task_id in map(int, task_ids):
        try:
            with rt.transaction() as session:
                instances.complete_task(
                    session, task_id=task_id, data=VALID, actor="worker", clock=rt.clock
                )
            done += 1
        except AuditNotWritten:
            refused += 1
    print(json.dumps({"completed": done, "refused": refused}))
    rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

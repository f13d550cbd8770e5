"""A worker process for the form-draft race: once a start file appears, saves the draft of
one form over revision 1 in one transaction, and prints whether it won.

    python -m tests.support.form_draft_worker <mode> <database_url> <start_file> <stem> <user> <label>

Modes: `product` saves through `form_drafts.save` as shipped; `unchecked` is the negative
control — the defect the race test guards against: the draft read, a pause so that every
racer reads it before any writes, and the next revision written over it without checking
that the revision is still the one read. Then every racer commits, and all edits but the
last are lost.
"""

from __future__ import annotations

import json
import sys
import time

from sqlalchemy import select, update

from tests.support import start_line
from workflows import access
from workflows.config import Settings
from workflows.definitions import form_drafts
from workflows.engine import settings
from workflows.engine.models import FormDraft
from workflows.errors import DomainError
from workflows.runtime import Runtime

BASE = 1
PAUSE = 0.5  # seconds between reading the draft and writing it, in `unchecked`: long
# enough that every racer has read before the first writes (they start together: start_line)


def _schema(label: str) -> dict[str, object]:
    """This racer's edit: the form's title names it."""
    return {"type": "object", "title": f"{label} 的修改", "properties": {}}


def _save_unchecked(rt: Runtime, stem: str, user: str, label: str) -> None:
    with rt.transaction() as session:
        row = session.execute(select(FormDraft).where(FormDraft.stem == stem)).scalar_one()
        seen = row.revision
        time.sleep(PAUSE)
        session.execute(
            update(FormDraft)
            .where(FormDraft.stem == stem)
            .values(
                revision=seen + 1,
                schema_json=json.dumps(_schema(label), ensure_ascii=False),
                saved_by=user,
                saved_at=rt.clock.now(),
            )
        )


def _save(rt: Runtime, stem: str, user: str, label: str) -> None:
    with rt.transaction() as session:
        form_drafts.save(
            session,
            principal=access.principal_for(session, username=user),
            stem=stem,
            schema=_schema(label),
            uischema={},
            base_revision=BASE,
            clock=rt.clock,
        )


def main(argv: list[str]) -> int:
    mode, url, start_file, stem, user, label = argv
    rt = Runtime(Settings(database_url=url, clock_adjustable=True, timezone="Asia/Shanghai"))
    with rt.db.reading() as session:  # connect and warm up before the start line
        settings.sync_clock(session, rt.clock)
    if not start_line.wait(start_file):
        print(json.dumps({"won": False, "error": "no start signal"}))
        return 2
    try:
        (_save_unchecked if mode == "unchecked" else _save)(rt, stem, user, label)
        print(json.dumps({"won": True}))
    except DomainError as err:
        print(json.dumps({"won": False, "error": type(err).__name__}))
    finally:
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A worker process for the template-upload race: once a start file appears, uploads a new
version of one kind's DOCX template in one transaction, and prints whether it won.

    python -m tests.support.template_worker <mode> <database_url> <start_file> <kind> <user>

Modes: `product` uploads through `templates.upload` as shipped; `unguarded` is the negative
control — the upload without its guard: the highest version read, a pause so that every racer
reads it before any writes, and the next number inserted as it is. Then the database's unique
(kind, version) refuses all but one, as a raw IntegrityError (the 500 the guard turns into 409).
"""

from __future__ import annotations

import json
import sys
import time

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from tests.support import start_line
from workflows import access
from workflows.config import Settings
from workflows.engine import settings
from workflows.errors import DomainError
from workflows.official import templates
from workflows.official.models import OfficialTemplate
from workflows.runtime import Runtime

PAUSE = 0.5  # seconds between reading the highest version and inserting, in `unguarded`


def _upload(rt: Runtime, kind: str, user: str) -> int:
    with rt.transaction() as session:
        found = templates.upload(
            session,
            principal=access.principal_for(session, username=user),
            key=kind,
            filename="race.docx",
            content=templates.shipped(kind).content,
            note=f"{user} 的版本",
            clock=rt.clock,
        )
        return found.version


def _upload_unguarded(rt: Runtime, kind: str, user: str) -> int:
    content = templates.shipped(kind).content
    with rt.transaction() as session:
        latest = session.execute(
            select(func.max(OfficialTemplate.version)).where(OfficialTemplate.kind == kind)
        ).scalar()
        time.sleep(PAUSE)
        number = max(int(latest or 1), 1) + 1
        session.execute(
            insert(OfficialTemplate).values(
                kind=kind,
                version=number,
                filename="race.docx",
                sha256="0" * 64,
                content=content,
                note=None,
                uploaded_by=user,
                uploaded_at=rt.clock.now(),
            )
        )
        return number


def main(argv: list[str]) -> int:
    mode, url, start_file, kind, user = argv
    rt = Runtime(Settings(database_url=url, clock_adjustable=True, timezone="Asia/Shanghai"))
    with rt.db.reading() as session:  # connect and warm up before the start line
        settings.sync_clock(session, rt.clock)
    if not start_line.wait(start_file):
        print(json.dumps({"won": False, "error": "no start signal"}))
        return 2
    try:
        version = (_upload_unguarded if mode == "unguarded" else _upload)(rt, kind, user)
        print(json.dumps({"won": True, "version": version}))
    except DomainError as err:
        print(json.dumps({"won": False, "error": type(err).__name__}))
    except IntegrityError:
        if mode != "unguarded":
            raise  # the product must never let it through
        print(json.dumps({"won": False, "error": "IntegrityError"}))
    finally:
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

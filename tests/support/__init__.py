"""Service-level steps for tests: each step is its own transaction, as in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select

from workflows.definitions import deployment
from workflows.engine import instances, timers
from workflows.engine.models import HumanTask, Instance, Timer
from workflows.runtime import Runtime

DATA = Path(__file__).parent.parent / "data"


def deploy(rt: Runtime, *names: str) -> deployment.Deployed:
    files = deployment.collect([DATA / n for n in names])
    with rt.transaction() as session:
        return deployment.deploy(
            session,
            files=files,
            form_source=deployment.FormFolder(rt.settings.forms_dir),
            max_bytes=rt.settings.max_definition_bytes,
            actor="tester",
            clock=rt.clock,
            note="测试部署",
            confirm=True,
        )


def start(
    rt: Runtime, process: str, data: dict[str, Any] | None = None, org_unit: str | None = "hefei"
) -> int:
    with rt.transaction() as session:
        version = deployment.latest(session, process_key=process)
        return instances.start(
            session,
            version=version,
            data=data or {},
            org_unit=org_unit,
            actor="tester",
            clock=rt.clock,
        ).id


def open_tasks(rt: Runtime, instance_id: int | None = None) -> list[HumanTask]:
    query = select(HumanTask).where(HumanTask.state == "open").order_by(HumanTask.id)
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    with rt.db.reading() as session:
        return list(session.execute(query).scalars())


def task_named(rt: Runtime, element: str, instance_id: int | None = None) -> HumanTask:
    found = [t for t in open_tasks(rt, instance_id) if t.task_spec == element]
    assert len(found) == 1, (
        f"expected one open {element}, found {[t.task_spec for t in open_tasks(rt, instance_id)]}"
    )
    return found[0]


def complete(
    rt: Runtime, task_id: int, data: dict[str, Any] | None = None, user: str = "clerk"
) -> HumanTask:
    with rt.transaction() as session:
        return instances.complete_task(
            session, task_id=task_id, data=data or {}, actor=user, clock=rt.clock
        )


def sweep(rt: Runtime) -> int:
    return timers.sweep(rt.db, clock=rt.clock)


def instance(rt: Runtime, instance_id: int) -> Instance:
    with rt.db.reading() as session:
        row = session.get(Instance, instance_id)
        assert row is not None
        return row


def timer_rows(rt: Runtime, instance_id: int | None = None) -> list[Timer]:
    query = select(Timer).order_by(Timer.fire_at)
    if instance_id is not None:
        query = query.where(Timer.instance_id == instance_id)
    with rt.db.reading() as session:
        return list(session.execute(query).scalars())


#: Fixtures hash many passwords: argon2 at its lowest cost (production's is for production).
HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

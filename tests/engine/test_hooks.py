"""Domain actions on process elements, message delivery and deadline explanations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import set_clock
from tests.support import complete, deploy, instance, open_tasks, start, task_named
from workflows.definitions import deployment
from workflows.engine import hooks, instances
from workflows.engine.models import AuditEvent, HumanTask
from workflows.errors import ValidationFailed
from workflows.runtime import Runtime

DATA = Path(__file__).parent.parent / "data"
NOTED: list[tuple[str, dict]] = []


@hooks.on_complete("test_double")
def _double(context: hooks.ActionContext) -> None:
    """Refuses a negative amount; otherwise adds the doubled amount to the task's data."""
    if context.data.get("amount", 0) < 0:
        raise ValidationFailed(
            "amount must not be negative", [{"field": "amount", "message": "≥ 0"}]
        )
    context.data["doubled"] = context.data.get("amount", 0) * 2


@hooks.automatic("test_note")
def _note(context: hooks.ActionContext) -> None:
    NOTED.append((context.element, dict(context.data)))


hooks.REGISTRY.add_module(sys.modules[__name__])  # the test actions above


def _deliver(rt: Runtime, instance_id: int, payload: dict) -> bool:
    delivered = []
    with rt.db.transaction() as session:
        locked = instances.lock_instance(session, instance_id)
        instances.advance(
            session,
            instance=locked,
            clock=rt.clock,
            step=instances.Step(
                action="message.deliver",
                actor="tester",
                apply=lambda run: delivered.append(run.deliver_message("result_ready", payload)),
            ),
        )
    return delivered[0]


def test_unregistered_action_is_refused_at_deploy() -> None:
    checked = deployment.check(
        deployment.collect([DATA / "bad" / "unknown_action.bpmn"]),
        form_source=deployment.FormFolder(DATA / "forms"),
        max_bytes=1_000_000,
    )
    assert [(p.element, "no_such_action" in p.reason) for p in checked.errors] == [("fill", True)]


def test_task_shows_how_its_deadline_was_computed(rt: Runtime) -> None:
    set_clock(rt, "2026-03-02 09:00")
    deploy(rt, "hooked.bpmn")
    iid = start(rt, "hooked", {"registered_on": "2026-03-02", "days": 10})
    task = task_named(rt, "fill", iid)
    assert task.due_basis == "立案之日 2026-03-02 起10个工作日"
    assert task.due_at is not None


def test_user_task_action_enriches_data_and_automatic_action_runs(rt: Runtime) -> None:
    NOTED.clear()
    set_clock(rt, "2026-03-02 09:00")
    deploy(rt, "hooked.bpmn")
    iid = start(rt, "hooked", {"registered_on": "2026-03-02", "days": 10})
    complete(rt, task_named(rt, "fill", iid).id, {"amount": 21})
    assert NOTED and NOTED[-1][0] == "record" and NOTED[-1][1]["doubled"] == 42
    assert open_tasks(rt, iid) == []  # waiting for the message


def test_refusing_action_stores_nothing(rt: Runtime) -> None:
    set_clock(rt, "2026-03-02 09:00")
    deploy(rt, "hooked.bpmn")
    iid = start(rt, "hooked", {"registered_on": "2026-03-02", "days": 10})
    task = task_named(rt, "fill", iid)
    before = instance(rt, iid)
    with rt.db.reading() as session:
        audit_rows = len(session.execute(select(AuditEvent.id)).all())
    with pytest.raises(ValidationFailed, match="negative"):
        complete(rt, task.id, {"amount": -1})
    after = instance(rt, iid)
    assert (after.version, after.state) == (before.version, before.state)
    assert task_named(rt, "fill", iid).state == "open"
    with rt.db.reading() as session:
        assert len(session.execute(select(AuditEvent.id)).all()) == audit_rows


def test_message_reaches_the_waiting_instance_with_its_payload(rt: Runtime) -> None:
    set_clock(rt, "2026-03-02 09:00")
    deploy(rt, "hooked.bpmn")
    iid = start(rt, "hooked", {"registered_on": "2026-03-02", "days": 10})
    complete(rt, task_named(rt, "fill", iid).id, {"amount": 1})
    assert _deliver(rt, iid, {"outcome": "exempt"}) is True
    after = task_named(rt, "after", iid)
    with rt.transaction() as session:
        locked = instances.lock_instance(session, iid)
        seen = {}
        instances.advance(
            session,
            instance=locked,
            clock=rt.clock,
            step=instances.Step(
                action="test.read",
                actor="tester",
                apply=lambda run: seen.update(run.task_data(after.spiff_task_id)),
            ),
        )
    assert seen["result"] == {"outcome": "exempt"}
    assert _deliver(rt, iid, {"outcome": "again"}) is False  # nothing waits for it any more
    with rt.db.reading() as session:
        assert session.execute(
            select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.task_spec == "after")
        ).scalar_one()


def test_a_form_cannot_change_the_case_identity(rt: Runtime) -> None:
    set_clock(rt, "2026-03-02 09:00")
    deploy(rt, "hooked.bpmn")
    iid = start(rt, "hooked", {"registered_on": "2026-03-02", "days": 10, "case_id": 7})
    task = task_named(rt, "fill", iid)
    with pytest.raises(ValidationFailed) as refused:
        complete(rt, task.id, {"amount": 1, "case_id": 8})
    assert [e["field"] for e in refused.value.errors] == ["case_id"]
    assert task_named(rt, "fill", iid).state == "open"

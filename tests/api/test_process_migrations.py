"""迁移运行中的案件 over HTTP: dry run, batch migration, revert, refusals and bad input.

The test process `migrating` (tests/data/migrating/) is 登记 → 审核 → end in version 1;
version 2 adds 归档 after 审核 (downstream of every running instance); version 3 replaces
审核 by 复核 (where an instance may stand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests import support
from tests.support.world import BPMN, FORMS, World
from workflows.definitions import deployment
from workflows.engine import audit
from workflows.engine.models import AuditEvent, HumanTask, Instance, ProcessVersion, Timer
from workflows.runtime import Runtime

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _deploy(rt: Runtime, version: str) -> None:
    support.deploy(rt, f"migrating/{version}/migrating.bpmn")


def _on_version(rt: Runtime, instance_id: int) -> int:
    with rt.db.reading() as session:
        return int(
            session.execute(
                select(ProcessVersion.version)
                .join(Instance, Instance.process_version_id == ProcessVersion.id)
                .where(Instance.id == instance_id)
            ).scalar_one()
        )


def _two_waiting(rt: Runtime) -> tuple[int, int]:
    """Two instances on version 1: one at 登记, one at 审核."""
    _deploy(rt, "v1")
    at_register = support.start(rt, "migrating")
    at_review = support.start(rt, "migrating")
    support.complete(rt, support.task_named(rt, "register", at_review).id, {"note": "已登记"})
    return at_register, at_review


def _actions(rt: Runtime, instance_id: int) -> list[str]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.instance_id == instance_id)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def test_dry_run_tells_who_can_move_and_why_not(world: World, rt: Runtime, login: Any) -> None:
    at_register, at_review = _two_waiting(rt)
    _deploy(rt, "v2")
    _deploy(rt, "v3")
    api = login("designer.hf")
    response = api.post(
        "/processes/migrating/migrations/dry-run", json={"from_version": 1, "to_version": 2}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == [
        {"instance_id": at_register, "case_number": None, "can_migrate": True, "reasons": []},
        {"instance_id": at_review, "case_number": None, "can_migrate": True, "reasons": []},
    ]
    plans = {
        p["instance_id"]: p
        for p in api.post(
            "/processes/migrating/migrations/dry-run", json={"from_version": 1, "to_version": 3}
        ).get_json()
    }
    assert plans[at_register]["can_migrate"] is True  # 审核 lies ahead of it
    assert plans[at_review]["can_migrate"] is False
    assert any("实例正停在步骤“审核”（review）" in r for r in plans[at_review]["reasons"])
    # a dry run writes nothing
    assert _on_version(rt, at_register) == 1 and "instance.migrate" not in _actions(rt, at_register)


def test_migration_moves_the_movable_and_the_case_goes_on_to_the_new_step(
    world: World, rt: Runtime, login: Any
) -> None:
    at_register, at_review = _two_waiting(rt)
    review_task = support.task_named(rt, "review", at_review)
    _deploy(rt, "v2")
    response = login("designer.hf").post(
        "/processes/migrating/migrations", json={"from_version": 1, "to_version": 2}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [m["instance_id"] for m in body["moved"]] == [at_register, at_review]
    assert body["refused"] == [] and (body["from_version"], body["to_version"]) == (1, 2)
    assert _on_version(rt, at_review) == 2
    # the waiting task is the same task (same row, same deadline), not a new one
    assert support.task_named(rt, "review", at_review).id == review_task.id
    assert "instance.migrate" in _actions(rt, at_review)
    support.complete(rt, review_task.id, {"opinion": "同意"})
    archive = support.task_named(rt, "archive", at_review)  # the step version 2 added
    assert archive.name == "归档" and archive.role == "organization"
    assert archive.due_at is not None and archive.due_basis  # its 办理时限 (5 workdays)
    support.complete(rt, archive.id)
    assert support.instance(rt, at_review).status == "completed"
    with rt.db.reading() as session:
        process_audit = session.execute(
            select(AuditEvent.action).where(AuditEvent.action == "process.migrate_instances")
        ).scalars()
        assert list(process_audit) == ["process.migrate_instances"]


def test_an_instance_standing_where_the_new_version_changed_is_refused_and_left_alone(
    world: World, rt: Runtime, login: Any
) -> None:
    at_register, at_review = _two_waiting(rt)
    _deploy(rt, "v2")
    _deploy(rt, "v3")
    before = support.instance(rt, at_review)
    body = (
        login("designer.hf")
        .post(
            "/processes/migrating/migrations",
            json={"from_version": 1, "to_version": 3, "instance_ids": [at_review, at_register]},
        )
        .get_json()
    )
    assert [m["instance_id"] for m in body["moved"]] == [at_register]
    [refused] = body["refused"]
    assert refused["instance_id"] == at_review and not refused["can_migrate"]
    assert any("审核" in r for r in refused["reasons"])
    after = support.instance(rt, at_review)
    assert (after.process_version_id, after.version, after.state) == (
        before.process_version_id,
        before.version,
        before.state,
    )
    # the moved one goes on with 复核 instead of 审核
    support.complete(rt, support.task_named(rt, "register", at_register).id)
    support.complete(rt, support.task_named(rt, "check", at_register).id)
    assert support.instance(rt, at_register).status == "completed"


def test_an_instance_not_on_the_source_version_is_refused(
    world: World, rt: Runtime, login: Any
) -> None:
    _deploy(rt, "v1")
    _deploy(rt, "v2")
    on_two = support.start(rt, "migrating")
    body = (
        login("designer.hf")
        .post(
            "/processes/migrating/migrations",
            json={"from_version": 1, "to_version": 2, "instance_ids": [on_two, 999999]},
        )
        .get_json()
    )
    assert body["moved"] == []
    assert [r["instance_id"] for r in body["refused"]] == [on_two, 999999]
    assert "不是在第 1 版上运行" in body["refused"][0]["reasons"][0]


def test_revert_restores_the_old_version_and_state(world: World, rt: Runtime, login: Any) -> None:
    _at_register, at_review = _two_waiting(rt)
    before = support.instance(rt, at_review)
    _deploy(rt, "v2")
    api = login("designer.hf")
    moved = api.post(
        "/processes/migrating/migrations",
        json={"from_version": 1, "to_version": 2, "instance_ids": [at_review]},
    ).get_json()["moved"][0]
    [listed] = api.get("/processes/migrating/migrations").get_json()
    assert listed["id"] == moved["migration_id"] and listed["can_revert"] is True
    response = api.post(f"/instances/{at_review}/migrations/{moved['migration_id']}/revert")
    assert response.status_code == 200, response.get_json()
    reverted = response.get_json()
    assert reverted["reverted_by"] == "designer.hf" and reverted["can_revert"] is False
    after = support.instance(rt, at_review)
    assert after.process_version_id == before.process_version_id
    assert after.version == before.version + 2  # moved, then moved back: two audited changes
    assert _actions(rt, at_review)[-2:] == ["instance.migrate", "instance.migration_revert"]
    # on version 1 again: after 审核 the case ends, no 归档
    support.complete(rt, support.task_named(rt, "review", at_review).id)
    assert support.instance(rt, at_review).status == "completed"
    with rt.db.reading() as session:
        verified = audit.verify(session)  # every change numbered, none without its row
        assert verified.ok, verified.reason
    # a second revert of the same move is refused
    again = api.post(f"/instances/{at_review}/migrations/{moved['migration_id']}/revert")
    assert again.status_code == 409 and "已于" in again.get_json()["detail"]


def test_revert_after_the_instance_moved_on_is_refused(
    world: World, rt: Runtime, login: Any
) -> None:
    _at_register, at_review = _two_waiting(rt)
    _deploy(rt, "v2")
    api = login("designer.hf")
    moved = api.post(
        "/processes/migrating/migrations",
        json={"from_version": 1, "to_version": 2, "instance_ids": [at_review]},
    ).get_json()["moved"][0]
    support.complete(rt, support.task_named(rt, "review", at_review).id)
    response = api.post(f"/instances/{at_review}/migrations/{moved['migration_id']}/revert")
    assert response.status_code == 409
    assert "已继续办理" in response.get_json()["detail"]
    assert _on_version(rt, at_review) == 2
    assert support.task_named(rt, "archive", at_review)
    assert api.post(f"/instances/{at_review}/migrations/999/revert").status_code == 404


def test_only_designers_migrate(world: World, rt: Runtime, login: Any) -> None:
    _at_register, at_review = _two_waiting(rt)
    _deploy(rt, "v2")
    body = {"from_version": 1, "to_version": 2}
    for user in ("organization.hf", "admin.hf", "zhang"):
        api = login(user)
        assert api.post("/processes/migrating/migrations/dry-run", json=body).status_code == 403
        refused = api.post("/processes/migrating/migrations", json=body)
        assert refused.status_code == 403 and "流程设计" in refused.get_json()["detail"]
    assert _on_version(rt, at_review) == 1


def test_bad_versions_are_named(world: World, rt: Runtime, login: Any) -> None:
    _two_waiting(rt)
    api = login("designer.hf")
    path = "/processes/migrating/migrations/dry-run"
    missing = api.post(path, json={"from_version": 1})
    assert missing.status_code == 422 and "to_version" in missing.get_json()["errors"]
    same = api.post(path, json={"from_version": 1, "to_version": 1})
    assert same.status_code == 422
    assert "比原版本" in same.get_json()["errors"]["to_version"][0]
    unknown = api.post(path, json={"from_version": 1, "to_version": 9})
    assert unknown.status_code == 422
    assert "没有第 9 版" in unknown.get_json()["errors"]["to_version"][0]
    text = api.post(path, json={"from_version": "1", "to_version": 2})
    assert text.status_code == 422 and "from_version" in text.get_json()["errors"]
    empty = api.post(
        "/processes/migrating/migrations",
        json={"from_version": 1, "to_version": 2, "instance_ids": []},
    )
    assert empty.status_code == 422 and "instance_ids" in empty.get_json()["errors"]
    nothing = api.post(
        "/processes/nothing/migrations/dry-run", json={"from_version": 1, "to_version": 2}
    )
    assert nothing.status_code == 404


def _open_rows(rt: Runtime, instance_id: int) -> list[tuple[Any, ...]]:
    with rt.db.reading() as session:
        tasks = session.execute(
            select(HumanTask.id, HumanTask.task_spec, HumanTask.due_at, HumanTask.assignee)
            .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
            .order_by(HumanTask.id)
        ).all()
        timers = session.execute(
            select(Timer.spiff_task_id, Timer.fire_at)
            .where(Timer.instance_id == instance_id)
            .order_by(Timer.id)
        ).all()
    return [tuple(t) for t in tasks] + [tuple(t) for t in timers]


def test_a_real_process_redeployed_unchanged_migrates_trivially(
    world: World, rt: Runtime, login: Any, tmp_path: Path
) -> None:
    at_register = world.open("accountability", data=REGISTER)
    in_parallel = world.open("accountability", data=REGISTER)
    world.complete(in_parallel, "register", {}, "discipline.hf")  # 调查 and 容错考虑 both open
    undelivered = world.undelivered_accountability()  # 送达 waits
    cases = [at_register, in_parallel, undelivered]
    rows = {c.id: _open_rows(rt, c.instance_id or 0) for c in cases}
    source = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
    again = tmp_path / "accountability.bpmn"
    again.write_text(source + "<!-- 重新部署 -->\n", encoding="utf-8")
    with rt.transaction() as session:
        result = deployment.deploy(
            session,
            files=deployment.collect([again]),
            form_source=deployment.FormFolder(FORMS),
            max_bytes=rt.settings.max_definition_bytes,
            actor="designer.hf",
            clock=rt.clock,
            note="只加了一行注释",
        )
    assert result.deployed == [("accountability", 2)]
    api = login("designer.hf")
    plans = api.post(
        "/processes/accountability/migrations/dry-run", json={"from_version": 1, "to_version": 2}
    ).get_json()
    assert plans == [
        {"instance_id": c.instance_id, "case_number": c.number, "can_migrate": True, "reasons": []}
        for c in cases
    ]
    body = api.post(
        "/processes/accountability/migrations", json={"from_version": 1, "to_version": 2}
    ).get_json()
    assert [m["case_number"] for m in body["moved"]] == [c.number for c in cases]
    for c in cases:
        assert c.instance_id is not None and _on_version(rt, c.instance_id) == 2
        assert _open_rows(rt, c.instance_id) == rows[c.id]  # same tasks, deadlines, timers
    timeline = login("discipline.hf").get(f"/cases/{at_register.id}").get_json()["timeline"]
    assert {"label": "迁移到新版本流程", "note": "第 1 版 → 第 2 版"} in [
        {"label": e["label"], "note": e["note"]} for e in timeline
    ]
    world.complete(at_register, "register", {}, "discipline.hf")
    assert world.task(at_register, "investigate")
    world.complete(
        in_parallel,
        "investigate",
        {"findings": "违规拨付属实", "responsibility": "main_leadership"},
        "discipline.hf",
    )
    world.complete(
        in_parallel,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )
    assert world.task(in_parallel, "decide")
    today = world.today().isoformat()
    world.complete(
        undelivered, "notify", {"received_on": today, "delivery": "in_person"}, "organization.hf"
    )
    served = world.case(undelivered.id)
    assert served.received_on is not None and served.received_on.isoformat() == today
    assert "notify" not in [t.task_spec for t in world.tasks(undelivered)]


def test_ids_out_of_range_are_not_found(world: World, rt: Runtime, login: Any) -> None:
    api = login("designer.hf")
    for path in (
        "/instances/99999999999/migrations/1/revert",
        "/instances/1/migrations/99999999999/revert",
        "/instances/0/migrations/0/revert",
    ):
        assert api.post(path).status_code == 404, path
    huge = api.post(
        "/processes/migrating/migrations",
        json={"from_version": 1, "to_version": 2, "instance_ids": [99999999999]},
    )
    assert huge.status_code == 422 and list(huge.get_json()["errors"]) == ["instance_ids.0"]

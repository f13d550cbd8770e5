"""Moving an instance onto another spec (迁移), on the engine alone: what may move, that
waiting timers keep their fire times, that the moved instance runs the new spec — each
straight and with a save/restore around the move."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.test_engine_scenarios import DATA, MODES, Scenario
from workflows.definitions import deployment
from workflows.engine import spiff as engine

DEADLINE = (DATA / "deadline.bpmn").read_text(encoding="utf-8")


def _compiled(tmp_path: Path, text: str) -> engine.Compiled:
    (tmp_path / "deadline.bpmn").write_text(text, encoding="utf-8")
    checked = deployment.check(
        deployment.collect([tmp_path / "deadline.bpmn"]),
        form_source=deployment.FormFolder(DATA / "forms"),
        max_bytes=1_000_000,
    )
    assert not checked.errors, [str(p) for p in checked.errors]
    return engine.load_spec(checked.processes[0].spec_json)


def _moved(s: Scenario, new: engine.Compiled, mode: str) -> None:
    assert s.run is not None
    s.run.migrate_to(new)
    s.compiled, s.spec_json = new, engine.dump_spec(new)  # later restores use the new spec
    if mode == "restore":
        s.run = engine.restore(new, s.run.dump(), clock=s.clock, functions=s.functions)


@pytest.mark.parametrize("mode", MODES)
def test_a_change_ahead_moves_and_waiting_timers_keep_their_time(mode: str, tmp_path: Path) -> None:
    renamed = _compiled(
        tmp_path,
        DEADLINE.replace(
            '<bpmn:userTask id="decide" name="问责决定">',
            '<bpmn:userTask id="decide" name="作出问责决定">',
        ),
    )
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    timers = s.timers()
    assert timers  # the overdue and reminder boundary timers wait on 责任调查
    investigate = s.task("investigate").id
    s.advance_clock(days=3)
    assert s.run is not None and s.run.migration_plan(renamed) == engine.MigrationPlan(True, [])
    _moved(s, renamed, mode)
    assert s.timers() == timers and s.task("investigate").id == investigate
    s.complete("investigate", responsible=True, severity=3, finding="应负直接责任")
    assert s.task("decide").name == "作出问责决定"
    s.complete("decide")
    assert s.completed


@pytest.mark.parametrize("mode", MODES)
def test_a_change_where_the_instance_stands_is_refused_with_the_reason(
    mode: str, tmp_path: Path
) -> None:
    changed = _compiled(
        tmp_path,
        DEADLINE.replace(
            '<bpmn:userTask id="investigate" name="责任调查">',
            '<bpmn:userTask id="investigate" name="调查核实">',
        ),
    )
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    assert s.run is not None
    plan = s.run.migration_plan(changed)
    assert not plan.can
    assert plan.reasons == ["实例正停在步骤“责任调查”（investigate），新版本修改了该步骤（名称）"]
    state = s.run.dump()
    with pytest.raises(engine.MigrationRefused, match="责任调查"):
        s.run.migrate_to(changed)
    assert s.run.dump() == state  # nothing moved


def test_a_step_passed_that_the_new_version_changed_is_refused(tmp_path: Path) -> None:
    changed = _compiled(
        tmp_path,
        DEADLINE.replace(
            '<bpmn:userTask id="investigate" name="责任调查">',
            '<bpmn:userTask id="investigate" name="调查核实">',
        ),
    )
    s = Scenario("deadline", ["deadline.bpmn"], "straight", "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    s.complete("investigate", responsible=True, severity=3, finding="应负直接责任")
    assert s.run is not None
    assert s.run.migration_plan(changed).reasons == [
        "已经过的步骤“责任调查”（investigate）在新版本中有改动（名称）"
    ]


MIGRATING = (DATA / "migrating" / "v1" / "migrating.bpmn").read_text(encoding="utf-8")
#: Version 1 of `migrating` with a reminder timer added on 审核.
WITH_TIMER = MIGRATING.replace(
    '<bpmn:endEvent id="end">',
    '<bpmn:boundaryEvent id="late" name="审核逾期" attachedToRef="review" cancelActivity="false">'
    '<bpmn:outgoing>f_late</bpmn:outgoing><bpmn:timerEventDefinition id="late_timer">'
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P5D"</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:endEvent id="late_end"><bpmn:incoming>f_late</bpmn:incoming></bpmn:endEvent>'
    '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end" />'
    '<bpmn:endEvent id="end">',
)


def _migrating(tmp_path: Path, text: str) -> engine.Compiled:
    (tmp_path / "migrating.bpmn").write_text(text, encoding="utf-8")
    checked = deployment.check(
        deployment.collect([tmp_path / "migrating.bpmn"]),
        form_source=deployment.FormFolder(DATA / "forms"),
        max_bytes=1_000_000,
    )
    assert not checked.errors, [str(p) for p in checked.errors]
    return engine.load_spec(checked.processes[0].spec_json)


def test_a_timer_added_to_the_step_it_waits_at_is_refused(tmp_path: Path) -> None:
    s = Scenario("migrating", ["migrating/v1/migrating.bpmn"], "straight", "2026-11-02 09:00")
    s.start()
    with_timer = _migrating(tmp_path, WITH_TIMER)
    assert s.run is not None and s.run.migration_plan(with_timer).can  # 审核 lies ahead
    s.complete("register")
    plan = s.run.migration_plan(with_timer)
    assert not plan.can
    # the step that led to 审核 now leads to its boundary events: the instance stays
    assert plan.reasons == ["已经过的步骤“登记”（register）在新版本中有改动（后续连线）"]


def test_another_timer_on_the_step_it_waits_at_is_refused(tmp_path: Path) -> None:
    third = _compiled(
        tmp_path,
        DEADLINE.replace(
            '<bpmn:userTask id="decide" name="问责决定">',
            '<bpmn:boundaryEvent id="weekly" name="每周提醒" attachedToRef="investigate" '
            'cancelActivity="false"><bpmn:outgoing>f_weekly</bpmn:outgoing>'
            '<bpmn:timerEventDefinition id="weekly_timer"><bpmn:timeDuration '
            'xsi:type="bpmn:tFormalExpression">"P7D"</bpmn:timeDuration>'
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            '<bpmn:endEvent id="weekly_end"><bpmn:incoming>f_weekly</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f_weekly" sourceRef="weekly" targetRef="weekly_end" />'
            '<bpmn:userTask id="decide" name="问责决定">',
        ),
    )
    s = Scenario("deadline", ["deadline.bpmn"], "straight", "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    assert s.run is not None
    plan = s.run.migration_plan(third)
    assert not plan.can
    assert "已经过的步骤“责任调查”（investigate）的边界事件或汇合在新版本中有改动（后续连线）" in (
        plan.reasons
    ), plan.reasons


@pytest.mark.parametrize("mode", MODES)
def test_an_instance_waiting_on_a_timer_keeps_its_fire_time(mode: str, tmp_path: Path) -> None:
    text = (DATA / "waiting.bpmn").read_text(encoding="utf-8")
    (tmp_path / "waiting.bpmn").write_text(
        text.replace('name="工作安排"', 'name="安排工作"'), encoding="utf-8"
    )
    checked = deployment.check(
        deployment.collect([tmp_path / "waiting.bpmn"]),
        form_source=deployment.FormFolder(DATA / "forms"),
        max_bytes=1_000_000,
    )
    renamed = engine.load_spec(checked.processes[0].spec_json)
    s = Scenario("waiting", ["waiting.bpmn"], mode, "2026-03-02 10:00")
    s.start(received_on="2026-03-02")
    s.set_clock("2026-04-03 00:01")
    s.fire()
    waiting = s.timers()
    assert set(waiting) == {"wait_duration"}  # three days from now, counting
    s.advance_clock(days=1)
    _moved(s, renamed, mode)
    assert s.timers() == waiting  # not restarted by the move
    s.advance_clock(days=2, minutes=1)
    s.fire()
    assert s.task("arrange").name == "安排工作"

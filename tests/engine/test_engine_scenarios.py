"""Engine scenarios on the sample BPMN, each run twice: straight through, and with a
save/restore of both spec and state between every step (as SpiffWorkflow's own suite does).

These drive workflows.engine directly (no database), with the real SpiffWorkflow engine
and our safe script engine; the database-backed paths are covered elsewhere on both
backends.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workflows.definitions import deployment
from workflows.engine import expressions
from workflows.engine import spiff as engine
from workflows.engine.calendar import WorkCalendar
from workflows.engine.clock import Clock

DATA = Path(__file__).parent.parent / "data"
TZ = ZoneInfo("Asia/Shanghai")


class Scenario:
    """Drives one instance; in 'restore' mode, spec and state round-trip after every step."""

    def __init__(self, process_id: str, files: list[str], mode: str, now: str) -> None:
        checked = deployment.check(
            deployment.collect([DATA / f for f in files]),
            form_source=deployment.FormFolder(DATA / "forms"),
            max_bytes=1_000_000,
        )
        assert not checked.errors, [str(p) for p in checked.errors]
        self.spec_json = next(p.spec_json for p in checked.processes if p.process_id == process_id)
        self.compiled = engine.load_spec(self.spec_json)
        self.mode = mode
        self.clock = Clock(adjustable=True)
        self.set_clock(now)
        calendar = WorkCalendar(override_years=frozenset({2027, 2028}))
        self.functions = expressions.standard_functions(calendar=calendar, clock=self.clock)
        self.run: engine.Run | None = None
        self.restores = 0

    def set_clock(self, moment: str) -> None:
        target = datetime.fromisoformat(moment).replace(tzinfo=TZ)
        self.clock.set_offset(timedelta(0))
        self.clock.set_offset(target - self.clock.now())

    def advance_clock(self, **delta: Any) -> None:
        self.clock.set_offset(self.clock.offset + timedelta(**delta))

    def _step_done(self) -> None:
        if self.mode == "restore":
            assert self.run is not None
            state = self.run.dump()
            self.compiled = engine.load_spec(self.spec_json)
            self.run = engine.restore(
                self.compiled, state, clock=self.clock, functions=self.functions
            )
            self.restores += 1

    def start(self, **data: Any) -> None:
        self.run = engine.start(self.compiled, data, clock=self.clock, functions=self.functions)
        self._step_done()

    def ready(self) -> list[str]:
        assert self.run is not None
        return sorted(t.element for t in self.run.ready_user_tasks())

    def task(self, element: str) -> engine.ReadyTask:
        assert self.run is not None
        matches = [t for t in self.run.ready_user_tasks() if t.element == element]
        assert len(matches) == 1, self.ready()
        return matches[0]

    def complete(self, element: str, **data: Any) -> None:
        assert self.run is not None
        self.run.complete_user_task(self.task(element).id, data)
        self._step_done()

    def fire(self) -> None:
        assert self.run is not None
        self.run.fire_timers()
        self._step_done()

    def timers(self) -> dict[str, datetime]:
        assert self.run is not None
        return {t.element: t.fire_at for t in self.run.waiting_timers()}

    @property
    def completed(self) -> bool:
        assert self.run is not None
        return self.run.completed


MODES = ["straight", "restore"]


def local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("mode", MODES)
def test_gateway_routes_by_form_data(mode: str) -> None:
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    s.complete("investigate", responsible=True, severity=3, finding="应负直接责任")
    assert s.ready() == ["decide"]
    s.complete("decide")
    assert s.completed


@pytest.mark.parametrize("mode", MODES)
def test_gateway_default_flow_ends_case(mode: str) -> None:
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    s.complete("investigate", responsible=False, severity=1, finding="不负责任")
    assert s.ready() == []
    assert s.completed


@pytest.mark.parametrize("mode", MODES)
def test_deadline_is_thirty_working_days_and_shown_on_the_task(mode: str) -> None:
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-02-10 09:00")
    s.start(registered_on="2026-02-10")
    # 30 working days after 2026-02-10 across the Spring Festival and its 调休 Saturdays.
    expected_day = WorkCalendar().add_workdays(date(2026, 2, 10), 30)
    due = s.task("investigate").due_at
    assert due is not None
    assert local(due) == f"{expected_day + timedelta(days=1)} 00:00"
    assert local(s.timers()["overdue"]) == local(due)


@pytest.mark.parametrize("mode", MODES)
def test_interrupting_boundary_timer_escalates(mode: str) -> None:
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    s.advance_clock(days=70)
    s.fire()
    assert s.ready() == ["escalate", "remind"]  # reminder passed too; investigate cancelled
    assert "overdue" not in s.timers()
    s.complete("escalate")
    s.complete("remind")
    assert s.completed


@pytest.mark.parametrize("mode", MODES)
def test_non_interrupting_timer_reminds_and_keeps_the_task(mode: str) -> None:
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    before = s.task("investigate")
    reminder_at = s.timers()["due_soon"]
    s.set_clock(local(reminder_at + timedelta(hours=1)))
    s.fire()
    assert s.ready() == ["investigate", "remind"]
    assert s.task("investigate").id == before.id
    assert s.task("investigate").due_at == before.due_at
    assert set(s.timers()) == {"overdue"}
    s.complete("investigate", responsible=False, severity=1, finding="不负责任")
    s.complete("remind")
    assert s.completed


@pytest.mark.parametrize("mode", MODES)
def test_timer_not_yet_due_does_not_fire(mode: str) -> None:
    s = Scenario("deadline", ["deadline.bpmn"], mode, "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    s.advance_clock(days=10)
    s.fire()
    assert s.ready() == ["investigate"]
    assert set(s.timers()) == {"overdue", "due_soon"}


@pytest.mark.parametrize("mode", MODES)
def test_script_and_intermediate_date_then_duration_timers(mode: str) -> None:
    s = Scenario("waiting", ["waiting.bpmn"], mode, "2026-03-02 10:00")
    s.start(received_on="2026-03-02")
    # Script task: a calendar month from receipt, via the registered functions only.
    assert local(s.timers()["wait_window"]) == "2026-04-03 00:00"
    s.set_clock("2026-04-02 23:00")
    s.fire()
    assert "wait_window" in s.timers()
    s.set_clock("2026-04-03 00:01")
    s.fire()
    assert set(s.timers()) == {"wait_duration"}
    assert s.timers()["wait_duration"] - s.clock.now() <= timedelta(days=3)
    s.advance_clock(days=3, minutes=1)
    s.fire()
    assert s.ready() == ["arrange"]
    s.complete("arrange")
    assert s.completed


@pytest.mark.parametrize("mode", MODES)
def test_cycle_start_timer_starts_work_each_year(mode: str) -> None:
    s = Scenario("yearly_talks", ["yearly_talks.bpmn"], mode, "2026-12-01 09:00")
    s.start()
    assert s.ready() == []
    assert set(s.timers()) == {"every_year"}
    s.advance_clock(days=366)
    s.fire()
    assert s.ready() == ["talk"]
    s.complete("talk")
    s.advance_clock(days=366)
    s.fire()
    assert s.ready() == ["talk"]
    s.complete("talk")
    s.advance_clock(days=366)
    s.fire()
    assert s.ready() == []  # R2: two cycles only


@pytest.mark.parametrize("mode", MODES)
def test_date_start_timer_waits_for_its_date(mode: str) -> None:
    s = Scenario("dated_start", ["dated_start.bpmn"], mode, "2027-02-27 09:00")
    s.start()
    s.fire()
    assert s.ready() == []
    assert local(s.timers()["on_date"]) == "2027-03-01 09:00"
    s.set_clock("2027-03-01 09:01")
    s.fire()
    assert s.ready() == ["review"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("nature", "motive", "expected"),
    [
        ("favourable", "favourable", "exempt"),
        ("unfavourable", "favourable", "reject"),
        ("favourable", "unfavourable", "reject"),
    ],
)
def test_call_activity_runs_dmn_with_safe_evaluator(
    mode: str, nature: str, motive: str, expected: str
) -> None:
    s = Scenario(
        "review_with_call",
        ["review_with_call.bpmn", "recommendation.dmn"],
        mode,
        "2026-05-06 09:00",
    )
    s.start()
    assert s.ready() == ["analyse"]
    s.complete("analyse", nature=nature, motive=motive)
    assert s.ready() == ["approve"]
    assert s.run is not None
    approve = s.task("approve")
    assert s.run.task_data(approve.id)["recommendation"] == expected


@pytest.mark.parametrize("mode", MODES)
def test_loop_runs_many_rounds(mode: str) -> None:
    s = Scenario("loop", ["loop.bpmn"], mode, "2026-05-06 09:00")
    s.start(done=False)
    for round_ in range(20):
        s.complete("report", done=False, round=round_)
    s.complete("report", done=True)
    assert s.completed
    assert s.restores == (22 if mode == "restore" else 0)


def test_state_json_carries_format_and_no_spec() -> None:
    s = Scenario("deadline", ["deadline.bpmn"], "straight", "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    assert s.run is not None
    import json

    state = json.loads(s.run.dump())
    assert state["format"] == engine.STATE_FORMAT
    assert "spec" not in state and "subprocess_specs" not in state


def test_unknown_state_format_is_refused() -> None:
    s = Scenario("deadline", ["deadline.bpmn"], "straight", "2026-11-02 09:00")
    s.start(registered_on="2026-11-02")
    assert s.run is not None
    import json

    state = json.loads(s.run.dump())
    state["format"] = 99
    with pytest.raises(engine.ProcessError, match="状态格式 99"):
        engine.restore(s.compiled, json.dumps(state), clock=s.clock, functions=s.functions)


def test_runtime_expression_error_names_the_element() -> None:
    s = Scenario("deadline", ["deadline.bpmn"], "straight", "2026-11-02 09:00")
    with pytest.raises(engine.ProcessError) as caught:
        s.start()  # registered_on missing: the boundary timer cannot be computed
    assert caught.value.element in {"overdue", "due_soon"}
    assert "registered_on" in caught.value.message

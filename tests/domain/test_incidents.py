"""Incidents (故障): a timer firing that fails or runs past the step budget is recorded on its
instance and retried with backoff, and never keeps other instances' timers from firing; a
person's retry fires it at once, a cancel withdraws the failing timers. Both backends.

The process (tests/data/hostile_timers.bpmn) waits for `new_year`, then branches on `kind`
to a timer whose value comes from the start data: the value is checked when the engine
evaluates it, which is in the sweep, after `new_year` fired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.conftest import advance_clock, set_clock
from tests.support import deploy, instance, open_tasks, start, sweep, timer_rows
from workflows.access import Principal
from workflows.engine import audit, calendar_overrides
from workflows.engine import spiff as engine
from workflows.engine.incidents import service
from workflows.engine.incidents.models import Incident
from workflows.engine.models import AuditEvent, Instance
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.incidents import actions, views
from workflows.runtime import Runtime

BEFORE = "2026-12-01 09:00"
AFTER = "2027-01-02 09:00"  # new_year (2027-01-01 00:00 +08:00) is due
OTHERS = 100
#: Start data whose timer value, evaluated in the sweep, is refused — and what the incident says.
HOSTILE: list[tuple[dict[str, Any], str, str]] = [
    ({"kind": "duration", "value": "PT-1S"}, "wait_duration", "时长不能为负数"),
    ({"kind": "duration", "value": "P99999999Y"}, "wait_duration", "时长不能超过 10 年"),
    ({"kind": "duration", "value": "P1000000000D"}, "wait_duration", "时长不能超过 10 年"),
    ({"kind": "duration", "value": 5}, "wait_duration", "应为文本（ISO 8601），而不是数字"),
    (
        {"kind": "years", "years": 99999999},
        "wait_years",
        "取值 P99999999Y 不被接受：时长不能超过 10 年",
    ),
    ({"kind": "date", "value": "2026-13-45"}, "wait_date", "不是有效的日期"),
    ({"kind": "date", "value": "2050-01-01"}, "wait_date", "不能晚于当前时间 10 年以上"),
    (
        {"kind": "cycle", "value": "R/PT0S", "due": "2027-06-01"},
        "remind",
        "重复间隔不能短于 1 分钟",
    ),
    (
        {"kind": "cycle", "value": "R/PT0.000001S", "due": "2027-06-01"},
        "remind",
        "重复间隔不能短于 1 分钟",
    ),
    (
        {"kind": "cycle", "value": "R999999999/PT1S", "due": "2027-06-01"},
        "remind",
        "重复间隔不能短于 1 分钟",
    ),
    ({"kind": "loop", "n": 0}, "spin", "流程步骤超出预算：一步之内自动执行了 200 个以上的环节"),
]
TIGHT = engine.StepLimits(seconds=30, tasks=200)
ADMIN = Principal(
    username="admin.root",
    role="admin",
    org_unit="root",
    cadre_id=None,
    units=frozenset({"root", "hefei"}),
)
DESIGNER = Principal(
    username="designer.a",
    role="designer",
    org_unit="root",
    cadre_id=None,
    units=frozenset({"root"}),
)
CLERK = Principal(
    username="discipline.a",
    role="discipline",
    org_unit="hefei",
    cadre_id=None,
    units=frozenset({"hefei"}),
)


@pytest.fixture
def hostile(rt: Runtime) -> Iterator[Runtime]:
    set_clock(rt, BEFORE)
    deploy(rt, "hostile_timers.bpmn", "bulk_timer.bpmn")
    with engine.limited(TIGHT):
        yield rt


def incidents_of(rt: Runtime) -> dict[int, Incident]:
    with rt.db.reading() as session:
        return {i.instance_id: i for i in session.execute(select(Incident)).scalars()}


def audit_actions(rt: Runtime, instance_id: int) -> list[str]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.instance_id == instance_id)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def fired(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "timer.fire")
            ).scalar_one()
        )


def test_hostile_values_from_data_become_incidents_and_100_other_timers_fire_in_the_same_sweep(
    hostile: Runtime,
) -> None:
    rt = hostile
    bad = {
        start(rt, "hostile_timers", data): (element, reason) for data, element, reason in HOSTILE
    }
    others = [start(rt, "bulk_timer") for _ in range(OTHERS)]
    before = {iid: instance(rt, iid) for iid in bad}

    set_clock(rt, AFTER)
    assert sweep(rt) == OTHERS

    assert all(instance(rt, iid).status == "completed" for iid in others)
    found = incidents_of(rt)
    assert set(found) == set(bad)
    for iid, (element, reason) in bad.items():
        incident = found[iid]
        assert (incident.status, incident.attempts, incident.element) == ("open", 1, element), iid
        assert reason in incident.message and incident.message.startswith(
            ("定时器 ", "流程步骤")
        ), incident.message
        after = instance(rt, iid)  # nothing of the failed step was kept
        assert (after.version, after.state) == (before[iid].version, before[iid].state)
        assert [t.task_spec for t in timer_rows(rt, iid)] == ["new_year"]
        assert audit_actions(rt, iid)[-1] == "timer.error"
    with rt.db.reading() as session:
        assert audit.verify(session).ok
    assert sweep(rt) == 0  # held by their incidents until the backoff has passed


def test_a_step_past_its_time_budget_becomes_an_incident(hostile: Runtime) -> None:
    rt = hostile
    looping = start(rt, "hostile_timers", {"kind": "loop", "n": 0})
    plain = start(rt, "hostile_timers", {"kind": "plain"})
    set_clock(rt, AFTER)
    with engine.limited(engine.StepLimits(seconds=0.5, tasks=10**9)):
        assert sweep(rt) == 1
    incident = incidents_of(rt)[looping]
    assert incident.element in {"spin", "spin_more"}  # wherever the loop was when time ran out
    assert "流程步骤超出时间预算：运行超过 0.5 秒仍未停下" in incident.message
    assert instance(rt, plain).status == "completed"


def test_valid_values_from_data_run_as_timers(hostile: Runtime) -> None:
    rt = hostile
    waiting = start(rt, "hostile_timers", {"kind": "duration", "value": "P3D"})
    reminded = start(
        rt, "hostile_timers", {"kind": "cycle", "value": "R3/PT1H", "due": "2027-06-01"}
    )
    set_clock(rt, AFTER)
    assert sweep(rt) == 2
    assert incidents_of(rt) == {}
    assert [t.task_spec for t in timer_rows(rt, waiting)] == ["wait_duration"]
    assert sorted(t.task_spec for t in timer_rows(rt, reminded)) == ["remind", "review_due"]


def test_a_cycle_stored_before_the_bounds_existed_is_refused_instead_of_firing_again(
    hostile: Runtime,
) -> None:
    rt = hostile
    iid = start(rt, "hostile_timers", {"kind": "cycle", "value": "R3/PT1H", "due": "2027-06-01"})
    set_clock(rt, AFTER)
    assert sweep(rt) == 1
    # As an instance started before the bounds would hold it: every 0 s, without end.
    with rt.db.transaction() as session:
        state = session.execute(select(Instance.state).where(Instance.id == iid)).scalar_one()
        assert '"cycles":3' in state and '"duration":3600.0' in state
        flooding = state.replace('"cycles":3', '"cycles":-1').replace(
            '"duration":3600.0', '"duration":0.0'
        )
        session.execute(update(Instance).where(Instance.id == iid).values(state=flooding))
    advance_clock(rt, hours=2)
    assert sweep(rt) == 0
    incident = incidents_of(rt)[iid]
    assert incident.element == "remind"
    assert (
        incident.message
        == "定时器 remind 的周期（timeCycle）取值 R/PT0S 不被接受：重复间隔不能短于 1 分钟"
    )
    assert open_tasks(rt, iid)[0].task_spec == "review"  # no reminder branch was added


def test_automatic_retries_back_off_and_stop_after_the_last_attempt(hostile: Runtime) -> None:
    rt = hostile
    iid = start(rt, "hostile_timers", {"kind": "date", "value": "2026-13-45"})
    set_clock(rt, AFTER)
    seen = []
    for attempt in range(1, service.MAX_ATTEMPTS + 1):
        assert sweep(rt) == 0
        incident = incidents_of(rt)[iid]
        seen.append(incident.attempts)
        delay = service.retry_delay(attempt)
        if delay is None:
            assert incident.next_retry_at is None
            break
        assert incident.next_retry_at is not None
        advance_clock(rt, seconds=delay.total_seconds() - 60)
        assert sweep(rt) == 0 and incidents_of(rt)[iid].attempts == attempt  # not yet
        advance_clock(rt, seconds=61)
    assert seen == list(range(1, service.MAX_ATTEMPTS + 1))
    assert [
        service.retry_delay(n).total_seconds() / 60 for n in range(1, service.MAX_ATTEMPTS)
    ] == [5, 10, 20, 40]
    advance_clock(rt, days=30)
    assert sweep(rt) == 0
    assert incidents_of(rt)[iid].attempts == service.MAX_ATTEMPTS  # waits for a person now
    assert audit_actions(rt, iid).count("timer.error") == service.MAX_ATTEMPTS


def _retry(rt: Runtime, incident_id: int, who: Principal = ADMIN) -> actions.Retried:
    with rt.transaction() as session:
        return actions.retry(session, principal=who, incident_id=incident_id, clock=rt.clock)


def _cancel(rt: Runtime, incident_id: int, who: Principal = ADMIN) -> list[str]:
    with rt.transaction() as session:
        return actions.cancel(
            session,
            principal=who,
            incident_id=incident_id,
            clock=rt.clock,
            reason="取值有误，放弃该定时器",
        )


def test_a_retry_fires_the_timers_once_the_cause_is_fixed(hostile: Runtime) -> None:
    rt = hostile
    iid = start(rt, "hostile_timers", {"kind": "calendar"}, org_unit="hefei")
    set_clock(rt, AFTER)
    assert sweep(rt) == 0
    incident = incidents_of(rt)[iid]
    assert (
        incident.element == "wait_workdays"
        and "working days of 2027 are unknown" in incident.message
    )

    again = _retry(rt, incident.id)  # the cause is still there: one more attempt counted
    assert (again.resolved, incidents_of(rt)[iid].attempts) == (False, 2)
    assert "working days of 2027 are unknown" in (again.message or "")

    with rt.db.transaction() as session:
        calendar_overrides.declare_year(
            session, year=2027, note="按周一至周五", actor="admin.root", clock=rt.clock
        )
    done = _retry(rt, incident.id, DESIGNER)
    assert (done.resolved, done.fired) == (True, 1)
    closed = incidents_of(rt)[iid]
    assert (closed.status, closed.closed_by) == ("resolved", "designer.a")
    assert [t.task_spec for t in timer_rows(rt, iid)] == ["wait_workdays"]
    actions_ = audit_actions(rt, iid)
    assert actions_[-3:] == ["incident.retry", "timer.fire", "incident.resolve"]
    assert actions_.count("incident.retry") == 2 and actions_.count("timer.error") == 2
    with rt.db.reading() as session:
        assert audit.verify(session).ok
        row = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "incident.retry")
                .order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
        assert row is not None and row.actor == "designer.a" and row.object_id == str(incident.id)
    with pytest.raises(Conflict, match="已解决"):
        _retry(rt, incident.id)
    with pytest.raises(Conflict, match="已解决"):
        _cancel(rt, incident.id)


def test_cancel_withdraws_a_failing_deadline_and_its_task_goes_on(hostile: Runtime) -> None:
    rt = hostile
    iid = start(
        rt,
        "hostile_timers",
        {"kind": "cycle", "value": "R3/PT1H", "due": "2027-01-03", "divisor": 0},
    )
    set_clock(rt, AFTER)
    assert sweep(rt) == 1
    [review] = open_tasks(rt, iid)
    set_clock(
        rt, "2027-01-04 09:00"
    )  # the deadline and the reminder are due; the deadline's branch fails
    assert sweep(rt) == 0
    incident = incidents_of(rt)[iid]
    assert incident.element == "overdue_ratio" and "division by zero" in incident.message

    withdrawn = _cancel(rt, incident.id)
    assert sorted(withdrawn) == ["remind", "review_due"]
    assert incidents_of(rt)[iid].status == "cancelled"
    assert timer_rows(rt, iid) == []
    assert [t.id for t in open_tasks(rt, iid)] == [
        review.id
    ]  # the task goes on, without a deadline
    assert instance(rt, iid).status == "running"
    assert audit_actions(rt, iid)[-2:] == ["timer.cancel", "incident.cancel"]
    with rt.db.reading() as session:
        detail = json.loads(
            session.execute(
                select(AuditEvent.detail).where(AuditEvent.action == "incident.cancel")
            ).scalar_one()
        )
        assert detail["reason"] == "取值有误，放弃该定时器"
        assert audit.verify(session).ok
    assert sweep(rt) == 0
    advance_clock(rt, days=1)
    assert sweep(rt) == 0 and incidents_of(rt)[iid].status == "cancelled"


def test_cancel_of_a_waiting_timer_ends_its_branch(hostile: Runtime) -> None:
    rt = hostile
    iid = start(rt, "hostile_timers", {"kind": "duration", "value": "P99999999Y"})
    set_clock(rt, AFTER)
    sweep(rt)
    assert _cancel(rt, incidents_of(rt)[iid].id) == ["new_year"]
    assert instance(rt, iid).status == "completed"
    assert timer_rows(rt, iid) == []


def test_only_administrators_and_designers_see_and_handle_incidents_within_their_units(
    hostile: Runtime,
) -> None:
    rt = hostile
    ours = start(rt, "hostile_timers", {"kind": "date", "value": "2026-13-45"}, org_unit="hefei")
    theirs = start(rt, "hostile_timers", {"kind": "date", "value": "2026-13-45"}, org_unit="wuhu")
    set_clock(rt, AFTER)
    sweep(rt)
    ids = {iid: incident.id for iid, incident in incidents_of(rt).items()}
    with rt.db.reading() as session:
        found = views.incidents(session, principal=ADMIN)
        seen, total = found.items, found.total
        assert ([v.instance_id for v in seen], total) == ([ours], 1)
        assert seen[0].may_retry and seen[0].may_cancel and seen[0].process_key == "hostile_timers"
        everyone = views.incidents(session, principal=DESIGNER).items
        assert sorted(v.instance_id for v in everyone) == sorted([ours, theirs])
        with pytest.raises(NotFound):
            views.incident(session, principal=ADMIN, incident_id=ids[theirs])
        with pytest.raises(Forbidden, match="只有系统管理和流程设计人员"):
            views.incidents(session, principal=CLERK)
        stuck = views.stuck(session, principal=CLERK, instance_id=ours)
        assert stuck is not None and not stuck.may_handle and stuck.element == "wait_date"
    with pytest.raises(NotFound):
        _retry(rt, ids[theirs])
    with pytest.raises(Forbidden):
        _cancel(rt, ids[ours], CLERK)


def test_a_person_whose_own_step_meets_a_hostile_value_is_refused_and_nothing_changes(
    rt: Runtime,
) -> None:
    """Only unattended steps become incidents: a start that reaches a hostile timer at once
    (new_year has passed) is refused to the person starting it, naming the timer."""
    set_clock(rt, AFTER)
    deploy(rt, "hostile_timers.bpmn")
    with pytest.raises(engine.ProcessError) as info:
        start(rt, "hostile_timers", {"kind": "duration", "value": "P99999999Y"})
    assert info.value.element == "wait_duration"
    assert "时长不能超过 10 年" in info.value.message
    with rt.db.reading() as session:
        assert session.execute(select(func.count()).select_from(Instance)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Incident)).scalar_one() == 0


def test_an_infinite_loop_in_a_persons_step_is_stopped_by_the_budget(rt: Runtime) -> None:
    set_clock(rt, "2027-01-02 09:00")
    deploy(rt, "hostile_timers.bpmn")
    with engine.limited(TIGHT), pytest.raises(engine.StepBudgetExceeded) as info:
        start(rt, "hostile_timers", {"kind": "loop", "n": 0})
    assert info.value.element == "spin"
    with rt.db.reading() as session:
        assert session.execute(select(func.count()).select_from(Instance)).scalar_one() == 0

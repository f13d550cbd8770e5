"""Timer values within bounds: each hostile timer is refused at validation — by
`deployment.check`, `cadreflow validate` and deploy — with a Chinese message naming the
event, wherever the timer sits (intermediate, boundary, non-interrupting boundary, start).
Values from task data are checked when the engine evaluates them: tests/domain/test_incidents.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import FORMS, set_clock
from workflows.definitions import deployment
from workflows.engine import timer_values
from workflows.engine.timer_values import TimerValueRefused
from workflows.errors import DefinitionError
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CADREFLOW = Path(sys.executable).with_name("cadreflow")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

#: (tag, expression, what the refusal says) — the values the issue found stalling the engine.
HOSTILE = [
    ("timeDuration", '"PT-1S"', "时长不能为负数"),
    ("timeDuration", '"P99999999Y"', "时长不能超过 10 年"),
    ("timeDuration", '"P1000000000D"', "时长不能超过 10 年"),
    ("timeDuration", '"P" + str(99999999) + "Y"', "时长不能超过 10 年"),
    ("timeDate", '"2026-13-45"', "不是有效的日期"),
    ("timeDuration", "5", "应为文本（ISO 8601），而不是数字"),
    ("timeDate", "20270301", "应为文本（ISO 8601），而不是数字"),
    ("timeCycle", '"R/PT0S"', "重复间隔不能短于 1 分钟"),
    ("timeCycle", '"R/PT0.000001S"', "重复间隔不能短于 1 分钟"),
    ("timeCycle", '"R999999999/PT1S"', "重复间隔不能短于 1 分钟"),
    ("timeCycle", '"R999999999/PT1M"', "重复次数不能超过 1000 次"),
    ("timeCycle", '"R/PT1H"', "不限次数的重复（R/…）间隔不能短于 1 天"),
    ("timeDate", '"2040-01-01"', "不能晚于当前时间 10 年以上"),
]
KIND_WORDS = {
    "timeDuration": "时长（timeDuration）",
    "timeDate": "时间点（timeDate）",
    "timeCycle": "周期（timeCycle）",
}


def timer_bpmn(tag: str, expression: str, *, on: str = "boundary") -> bytes:
    """A small process whose one timer, `remind`, carries `expression`: on a non-interrupting
    boundary of a user task, an interrupting one, an intermediate event or the start event."""
    definition = (
        f'<bpmn:timerEventDefinition id="remind_timer"><bpmn:{tag} xsi:type="bpmn:tFormalExpression">'
        f"{expression.replace('&', '&amp;').replace(chr(34), '&quot;')}</bpmn:{tag}></bpmn:timerEventDefinition>"
    )
    start = '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
    first = "work"
    extra = ""
    if on == "start":
        start = f'<bpmn:startEvent id="remind" name="定时启动"><bpmn:outgoing>f1</bpmn:outgoing>{definition}</bpmn:startEvent>'
    elif on == "intermediate":
        extra = (
            f'<bpmn:intermediateCatchEvent id="remind" name="等待"><bpmn:incoming>f1</bpmn:incoming>'
            f"<bpmn:outgoing>f0</bpmn:outgoing>{definition}</bpmn:intermediateCatchEvent>"
            '<bpmn:sequenceFlow id="f0" sourceRef="remind" targetRef="work" />'
        )
        first = "remind"
    else:
        cancel = "true" if on == "deadline" else "false"
        extra = (
            f'<bpmn:boundaryEvent id="remind" name="提醒" attachedToRef="work" cancelActivity="{cancel}">'
            f"<bpmn:outgoing>f3</bpmn:outgoing>{definition}</bpmn:boundaryEvent>"
            '<bpmn:endEvent id="end2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="end2" />'
        )
    work_in = "f0" if on == "intermediate" else "f1"
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="hostile" name="定时" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="discipline"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    {start}
    <bpmn:userTask id="work" name="办理"><bpmn:incoming>{work_in}</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{first}" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    {extra}
  </bpmn:process>
</bpmn:definitions>'''.replace(
        'sourceRef="start"', 'sourceRef="remind"' if on == "start" else 'sourceRef="start"'
    ).encode()


def problems_of(data: bytes, now: datetime = NOW) -> list[tuple[str | None, str]]:
    checked = deployment.check(
        [deployment.SourceFile("hostile.bpmn", data)],
        form_source=deployment.FormFolder(FORMS),
        max_bytes=200_000,
        now=now,
    )
    return [(p.element, p.reason) for p in checked.errors]


# --- the bounds themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("duration", "P3D"),
        ("duration", "PT2H30M"),
        ("duration", "P10Y"),
        ("duration", "P120M"),
        ("duration", "P3653D"),
        ("duration", "PT0S"),
        ("duration", "P1.5D"),
        ("duration", "P2W"),
        ("date", "2027-03-01"),
        ("date", "2027-03-01T09:00:00+08:00"),
        ("date", "2020-01-01"),
        ("cycle", "R/2027-01-15T09:00:00+08:00/P1Y"),
        ("cycle", "R2/P1Y"),
        ("cycle", "R1000/PT1M"),
        ("cycle", "R3/PT1H/2027-03-01T00:00:00+08:00"),
        ("cycle", "R/P1D"),
        ("cycle", "R0/PT1M"),
    ],
)
def test_values_within_the_bounds_pass(kind: str, value: str) -> None:
    timer_values.check(kind, value, now=NOW)


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("duration", "PT-1S", "时长不能为负数"),
        ("duration", "P99999999Y", "时长不能超过 10 年"),
        ("duration", "P1000000000D", "时长不能超过 10 年"),
        ("duration", "P3654D", "时长不能超过 10 年"),
        ("duration", 5, "而不是数字"),
        ("duration", None, "而不是空值"),
        ("duration", "P", "应为 ISO 8601 时长"),
        ("duration", "P1DT", "应为 ISO 8601 时长"),
        ("duration", "2027-01-01", "应为 ISO 8601 时长"),
        ("duration", "P1.5M", "年、月不能带小数"),
        ("duration", "P1.5DT2H", "只有最后一项可以带小数"),
        ("duration", "P1W2D", "周（W）不能与年、月、日同用"),
        ("duration", " P1D", "前后不能有空白"),
        ("date", "2026-13-45", "不是有效的日期"),
        ("date", "P3D", "而不是时长"),
        ("date", "2026-W10-1", "不接受按周记的日期"),
        ("date", "2040-01-01", "不能晚于当前时间 10 年以上"),
        ("date", "2010-01-01", "不能早于当前时间 10 年以上"),
        ("cycle", "R/PT0S", "重复间隔不能短于 1 分钟"),
        ("cycle", "R/PT0.000001S", "重复间隔不能短于 1 分钟"),
        ("cycle", "R999999999/PT1S", "重复间隔不能短于 1 分钟"),
        ("cycle", "R1001/PT1H", "重复次数不能超过 1000 次"),
        ("cycle", "R/PT23H", "不限次数的重复（R/…）间隔不能短于 1 天"),
        ("cycle", "R-5/PT1H", "应为 ISO 8601 重复间隔"),
        ("cycle", "P1D", "应为 ISO 8601 重复间隔"),
        ("cycle", "R5/2027-01-01/2027-02-01", "开始时间之后应为间隔"),
        ("cycle", "R5/1990-01-01/P1D", "不能早于当前时间 10 年以上"),
    ],
)
def test_values_outside_the_bounds_are_refused_in_chinese_naming_the_timer(
    kind: str, value: object, reason: str
) -> None:
    with pytest.raises(TimerValueRefused) as info:
        timer_values.check(kind, value, now=NOW, element="remind")
    assert reason in info.value.reason
    assert info.value.message.startswith("定时器 remind 的")
    assert info.value.element == "remind"


def test_a_month_counts_as_short_as_it_may_be_for_a_cycle_and_as_long_as_it_is_on_average() -> None:
    assert timer_values.parse_duration("P1M", None).shortest == timedelta(days=28)
    assert timer_values.parse_duration("P12M", None).length == timedelta(days=365.2425)


# --- at validation --------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "expression", "reason"), HOSTILE, ids=[h[1] for h in HOSTILE])
def test_each_hostile_timer_is_refused_at_validation_naming_the_event(
    tag: str, expression: str, reason: str
) -> None:
    [(element, message)] = problems_of(timer_bpmn(tag, expression))
    assert element == "remind"
    assert message.startswith(f"定时器 remind 的{KIND_WORDS[tag]}取值 ")
    assert reason in message


@pytest.mark.parametrize("on", ["boundary", "deadline", "intermediate", "start"])
def test_the_bounds_hold_wherever_the_timer_sits(on: str) -> None:
    assert problems_of(timer_bpmn("timeDuration", '"P3D"', on=on)) == []
    [(element, message)] = problems_of(timer_bpmn("timeDuration", '"P99999999Y"', on=on))
    assert element == "remind" and "时长不能超过 10 年" in message


def test_a_value_from_task_data_passes_validation_and_is_checked_when_evaluated() -> None:
    assert problems_of(timer_bpmn("timeDuration", '"P" + str(years) + "Y"')) == []
    assert problems_of(timer_bpmn("timeDate", "end_of_day(add_workdays(registered_on, 30))")) == []


def test_a_constant_date_is_measured_from_the_moment_of_validation() -> None:
    data = timer_bpmn("timeDate", '"2030-01-01"')
    assert problems_of(data, now=NOW) == []
    [(_, message)] = problems_of(data, now=datetime(2045, 1, 1, tzinfo=UTC))
    assert "不能早于当前时间 10 年以上" in message


def test_an_expression_refused_by_the_evaluator_is_reported_once() -> None:
    [(element, message)] = problems_of(timer_bpmn("timeCycle", "x.__class__"))
    assert element == "remind" and "不允许使用属性访问" in message


def test_cadreflow_validate_refuses_a_hostile_timer_with_the_element_and_the_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hostile.bpmn"
    path.write_bytes(timer_bpmn("timeCycle", '"R/PT0S"'))
    done = subprocess.run(
        [str(CADREFLOW), "validate", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "CADREFLOW_FORMS_DIR": str(FORMS)},
    )
    assert done.returncode == 1
    assert "error: 发现 1 个错误" in done.stderr
    assert (
        "hostile.bpmn: remind: 定时器 remind 的周期（timeCycle）取值 R/PT0S 不被接受：重复间隔不能短于 1 分钟"
        in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_deploy_refuses_a_hostile_timer_and_stores_nothing(rt: Runtime, tmp_path: Path) -> None:
    set_clock(rt, "2026-12-02 09:00")
    path = tmp_path / "hostile.bpmn"
    path.write_bytes(timer_bpmn("timeDuration", '"P99999999Y"'))
    with pytest.raises(DefinitionError) as info, rt.db.transaction() as session:
        deployment.deploy(
            session,
            files=deployment.collect([path]),
            form_source=deployment.FormFolder(FORMS),
            max_bytes=200_000,
            actor="designer",
            clock=rt.clock,
            note="测试部署",
            confirm=True,
        )
    [problem] = [p for p in info.value.problems if p.severity == "error"]
    assert (problem.file, problem.element) == ("hostile.bpmn", "remind")
    assert "时长不能超过 10 年" in problem.reason


@pytest.mark.parametrize(
    ("cycles", "seconds", "reason"),
    [
        (-1, 0.0, "重复间隔不能短于 1 分钟"),
        (5, 1e-06, "重复间隔不能短于 1 分钟"),
        (999999999, 60.0, "重复次数不能超过 1000 次"),
        (-1, 3600.0, "不限次数的重复（R/…）间隔不能短于 1 天"),
    ],
)
def test_a_running_cycle_kept_in_the_state_is_held_to_the_same_bounds(
    cycles: int, seconds: float, reason: str
) -> None:
    with pytest.raises(TimerValueRefused) as info:
        timer_values.check_cycle_state(cycles=cycles, seconds=seconds, element="remind")
    assert reason in info.value.reason
    timer_values.check_cycle_state(cycles=0, seconds=0.0)  # done: nothing left to fire
    timer_values.check_cycle_state(cycles=3, seconds=3600.0)
    timer_values.check_cycle_state(cycles=-1, seconds=365 * 86400.0)

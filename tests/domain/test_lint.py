"""The designer's lint in `deployment.check`: each rule on small samples (tests/data/lint),
its severity, the element's id and name in every finding, Chinese reasons, and the shipped
processes passing without errors or warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.definitions import deployment, lint
from workflows.engine import hooks
from workflows.errors import Problem
from workflows.runtime import register_domain

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "tests" / "data" / "lint"
FORMS = ROOT / "tests" / "data" / "forms"
LIMIT = 2_000_000


def _check(name: str, settings: set[tuple[str, str]] | None = None) -> deployment.Checked:
    return deployment.check(
        deployment.collect([LINT / name]),
        form_source=deployment.FormFolder(FORMS),
        max_bytes=LIMIT,
        settings=settings,
    )


def _found(checked: deployment.Checked) -> list[tuple[str | None, str | None, str]]:
    return [(p.element, p.name, p.severity) for p in checked.problems]


def test_a_well_formed_process_has_no_findings() -> None:
    checked = _check("lint_good.bpmn")
    assert checked.problems == []
    assert [p.process_id for p in checked.processes] == ["lint_good"]


def test_an_unconnected_task_is_an_error_both_ways() -> None:
    checked = _check("lint_unconnected.bpmn")
    assert _found(checked) == [("stray", "孤立任务", "error"), ("stray", "孤立任务", "error")]
    reasons = [p.reason for p in checked.problems]
    assert reasons == [
        "人工任务没有连入的顺序流（未连接）",
        "人工任务没有连出的顺序流（未连接），应连到后续步骤或结束事件",
    ]
    assert checked.processes == []  # nothing of the file is deployable


def test_elements_not_reachable_from_a_start_event_are_errors() -> None:
    checked = _check("lint_unreachable.bpmn")
    assert _found(checked) == [
        ("island_a", "环上甲", "error"),
        ("island_b", "环上乙", "error"),
    ]
    assert all(p.reason == "人工任务从开始事件无法到达" for p in checked.problems)


def test_a_task_leading_nowhere_is_an_error() -> None:
    checked = _check("lint_dead_end.bpmn")
    dead = [p for p in checked.problems if p.element == "dead_end"]
    assert [(p.severity, p.name) for p in dead] == [("error", "走不出去")]
    assert "没有连出的顺序流" in dead[0].reason
    # the engine's own refusal of two flows out of a task, in Chinese
    assert [p.reason for p in checked.problems if p.element == "check"] == [
        "任务不能有多条连出的顺序流：请用网关分支"
    ]


def test_a_gateway_with_a_flow_without_condition_and_no_default_is_an_error() -> None:
    checked = _check("lint_gateway.bpmn")
    [gateway] = [p for p in checked.problems if p.element == "split"]
    assert (gateway.severity, gateway.name) == ("error", "分别处理")
    assert "to_b 没有条件" in gateway.reason and "默认流" in gateway.reason
    assert "join" not in {p.element for p in checked.problems}  # one flow out: no rule


def test_a_gateway_with_a_default_passes() -> None:
    # lint_good's gateway 'decide' has an unconditioned flow that is its default
    assert not [p for p in _check("lint_good.bpmn").problems if p.element == "decide"]


def test_a_user_task_without_form_or_time_limit_is_a_warning_and_still_deployable() -> None:
    checked = _check("lint_warnings.bpmn")
    assert _found(checked) == [("check", "核查", "warning"), ("check", "核查", "warning")]
    assert "没有表单" in checked.problems[0].reason
    assert "没有办理时限" in checked.problems[1].reason
    assert checked.errors == [] and len(checked.warnings) == 2
    assert [p.process_id for p in checked.processes] == ["lint_warnings"]


def test_an_administrators_time_limit_setting_counts_as_a_limit() -> None:
    checked = _check("lint_warnings.bpmn", settings={("lint_warnings", "check")})
    assert [p.reason for p in checked.problems] == [
        "人工任务没有表单（formJsonSchemaFilename）：办理人只能直接提交"
    ]
    other = _check("lint_warnings.bpmn", settings={("another_process", "check")})
    assert len(other.warnings) == 2


def test_a_boundary_timer_counts_as_a_time_limit() -> None:
    text = (LINT / "lint_warnings.bpmn").read_text(encoding="utf-8")
    timed = text.replace(
        '    <bpmn:endEvent id="end"',
        '    <bpmn:boundaryEvent id="late" attachedToRef="check">'
        "<bpmn:outgoing>f_late</bpmn:outgoing>"
        '<bpmn:timerEventDefinition id="late_timer"><bpmn:timeDuration>"P10D"</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>\n"
        '    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="end"/>\n'
        '    <bpmn:endEvent id="end"',
    )
    checked = deployment.check(
        [deployment.SourceFile("lint_warnings.bpmn", timed.encode("utf-8"))],
        form_source=deployment.FormFolder(FORMS),
        max_bytes=LIMIT,
    )
    assert [(p.element, p.severity) for p in checked.problems] == [("check", "warning")]
    assert "没有表单" in checked.problems[0].reason


def test_the_shipped_processes_pass_without_errors_or_warnings() -> None:
    register_domain(hooks.REGISTRY)  # the actions the shipped processes call, as a server has
    checked = deployment.check(
        deployment.collect([ROOT / "bpmn"]),
        form_source=deployment.FormFolder(ROOT / "forms"),
        max_bytes=LIMIT,
    )
    assert [str(p) for p in checked.problems] == []
    assert {p.process_id for p in checked.processes} >= {
        "accountability",
        "tolerance_review",
        "appeal",
        "rectification",
        "clarification",
    }


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("syntax error: invalid syntax", "语法错误：语法无效"),
        ("syntax error on line 2: invalid syntax", "第 2 行语法错误：语法无效"),
        ("attribute access is not allowed", "不允许使用属性访问（.）"),
        ("line 1: import is not allowed in a script", "第 1 行：脚本中不允许使用import 导入"),
        ("name '_x' is not allowed (names starting with '_' are reserved)", "不允许使用名称 '_x'"),
        ("function 'evil' is not registered", "函数 'evil' 未登记，不能调用"),
        ("something nobody translated", "校验未通过：something nobody translated"),
        ("已是中文的说明", "已是中文的说明"),
    ],
)
def test_reasons_read_in_chinese(english: str, chinese: str) -> None:
    assert lint.translate(english).startswith(chinese)


def test_an_expression_problem_keeps_the_element_id_and_the_expression() -> None:
    checked = deployment.check(
        deployment.collect([ROOT / "tests" / "data" / "bad" / "bad_condition.bpmn"]),
        form_source=deployment.FormFolder(FORMS),
        max_bytes=LIMIT,
    )
    [problem] = checked.errors
    assert isinstance(problem, Problem) and problem.element == "evil_flow"
    assert problem.reason.startswith("不允许使用属性访问（.），见 ")
    assert "__import__" in problem.reason
    assert problem.as_dict()["severity"] == "error"

"""The BPMN editor's lint in a real browser: bpmnlint's recommended rules and the server's own
checks run on the diagram as it is drawn (static/build/lint.js), listed with the server's
findings and marked on the canvas; a click on a problem zooms to its element; deploying is
still refused by the server. The lint finds what the server's lint finds, on the shipped
processes and on a diagram with an unconnected task."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server import create_app
from tests.browser.conftest import screenshot, serving, sign_in
from tests.support.world import BPMN, FORMS, World
from workflows.definitions import step_limits
from workflows.engine.models import ProcessVersion
from workflows.runtime import Runtime

#: The reasons of the server's checks the lint repeats (lint.py, deployment._check_user_tasks).
COVERED = re.compile(
    r"没有连入的顺序流|没有连出的顺序流|从开始事件无法到达|没有条件，且网关没有默认流"
    r"|人工任务不在任何泳道中|不是已知角色|人工任务没有表单|人工任务没有办理时限"
)


@pytest.fixture
def live(rt: Runtime, world: World) -> Iterator[str]:
    """The app with the shipped forms/, which the shipped processes use."""
    shipped = Runtime(
        dataclasses.replace(rt.settings, forms_dir=FORMS),
        db=rt.db,
        clock=rt.clock,
        hasher=rt.hasher,
    )
    with serving(create_app(shipped)) as url:
        yield url


def _open_editor(page: Any, key: str = "accountability") -> None:
    sign_in(page, "designer.hf")
    page.goto(f"/processes/{key}/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator("#canvas")).to_have_attribute("data-linted", re.compile(r"\d"))


def _add_unconnected_task(page: Any) -> None:
    """A user task dropped in the 党委（党组） lane, connected to nothing."""
    runs = page.locator("#canvas").get_attribute("data-linted")
    page.evaluate(
        """() => {
            const m = window.cadreflowModeler;
            const task = m.get('bpmnFactory').create(
                'bpmn:UserTask', {id: 'loose_task', name: '孤立的步骤'});
            const shape = m.get('elementFactory').createShape(
                {type: 'bpmn:UserTask', businessObject: task});
            m.get('modeling').createShape(shape, {x: 700, y: 675},
                                          m.get('canvas').getRootElement());
        }"""
    )
    expect(page.locator("#canvas")).not_to_have_attribute("data-linted", runs or "")


def _versions(rt: Runtime) -> list[int]:
    with rt.db.reading() as session:
        return sorted(
            session.execute(
                select(ProcessVersion.version).where(ProcessVersion.process_key == "accountability")
            )
            .scalars()
            .all()
        )


def test_an_unconnected_task_is_flagged_marked_zoomed_to_and_its_deployment_refused(
    open_page: Any, world: World, rt: Runtime
) -> None:
    page = open_page()
    _open_editor(page)
    problems = page.locator("#problems li")
    expect(problems.locator(".problem-element", has_text="loose_task")).to_have_count(0)

    _add_unconnected_task(page)
    mine = problems.filter(has=page.locator('[data-element="loose_task"]'))
    expect(mine.filter(has_text="人工任务没有连入的顺序流（未连接）")).to_have_count(1)
    expect(mine.filter(has_text="人工任务没有连出的顺序流（未连接）")).to_have_count(1)
    # as deploying, the per-task checks wait until the task is part of the process
    expect(mine.filter(has_text="人工任务没有表单")).to_have_count(0)
    expect(mine.first).to_contain_text("错误 loose_task 孤立的步骤：人工任务没有连入的顺序流")
    expect(mine.first).to_contain_text("编辑器检查")
    expect(page.locator("#lint-summary")).to_contain_text("个错误")
    # marked on the canvas: the class, and a badge counting its problems
    shape = page.locator('.djs-element[data-element-id="loose_task"]')
    expect(shape).to_have_class(re.compile(r"\bcf-problem\b"))
    expect(shape).not_to_have_class(re.compile(r"\bcf-problem-warning\b"))
    expect(page.locator('.cf-badge[data-element="loose_task"]')).to_have_text("2")
    expect(page.locator('.djs-element[data-element-id="register"]')).not_to_have_class(
        re.compile(r"\bcf-problem\b")
    )

    # a click on the problem selects the task, zooms in and centres it
    page.evaluate("() => window.cadreflowModeler.get('canvas').zoom(0.3, {x: 0, y: 0})")
    mine.first.get_by_role("button", name="loose_task").click()
    seen = page.evaluate(
        """() => {
            const m = window.cadreflowModeler;
            const box = m.get('canvas').viewbox();
            const task = m.get('elementRegistry').get('loose_task');
            return {
                selected: m.get('selection').get().map((e) => e.id),
                scale: box.scale,
                dx: Math.abs(box.x + box.width / 2 - (task.x + task.width / 2)),
                dy: Math.abs(box.y + box.height / 2 - (task.y + task.height / 2)),
            };
        }"""
    )
    assert seen["selected"] == ["loose_task"]
    assert seen["scale"] == pytest.approx(1, abs=0.01)
    assert seen["dx"] < 2 and seen["dy"] < 2, seen

    # the server refuses it too: its findings join the list, nothing is deployed
    page.get_by_label("版本说明").fill("加一个步骤")
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator("#modeler-status")).to_contain_text("未部署：发现")
    server = page.locator("#problems li.problem-server")
    expect(server.filter(has_text="loose_task")).not_to_have_count(0)
    expect(server.filter(has_text="人工任务没有连入的顺序流（未连接）")).to_have_count(1)
    # the same finding from both is listed once
    expect(mine.filter(has_text="人工任务没有连入的顺序流（未连接）")).to_have_count(1)
    assert _versions(rt) == [1]
    screenshot(page, "modeler-lint.png")

    # an edit makes the server's findings stale: they go, the lint's stay
    page.evaluate(
        """() => {
            const m = window.cadreflowModeler;
            m.get('modeling').updateLabel(m.get('elementRegistry').get('loose_task'), '另一名称');
        }"""
    )
    expect(page.locator("#problems-summary")).to_have_text("图已修改，请重新校验。")
    expect(server).to_have_count(0)
    expect(mine.filter(has_text="人工任务没有连入的顺序流（未连接）")).to_have_count(1)


def _lint_and_validate(page: Any, name: str, xml: str) -> tuple[set[Any], set[Any]]:
    """The lint's own findings on `xml` (opened in the page's modeler) and the server's
    findings the lint repeats, as (element, severity, reason)."""
    found = page.evaluate(
        """async ([name, xml]) => {
            const m = window.cadreflowModeler;
            await m.importXML(xml);
            const settings = JSON.parse(document.getElementById('modeler-editor').textContent);
            const linter = window.cadreflowLint.linter(
                Object.assign({chinese: true}, settings.lint));
            const lint = await linter.lint(m.getDefinitions());
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch('/api/v1/processes/validate', {
                method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({files: [{name, content: xml}]}),
            });
            return {lint, server: (await response.json()).problems};
        }""",
        [name, xml],
    )
    lint = {
        (f["element"], f["severity"], f["reason"])
        for f in found["lint"]
        if f["rule"].startswith("cadreflow/")
    }
    server = {
        (p["element"], p["severity"], p["reason"])
        for p in found["server"]
        if COVERED.search(p["reason"])
    }
    return lint, server


def test_the_lint_finds_what_the_servers_lint_finds(
    open_page: Any, world: World, rt: Runtime
) -> None:
    with rt.transaction() as session:  # an administrator's 办理时限 for 问责决定
        step_limits.put(
            session,
            process_key="accountability",
            element="decide",
            amount=10,
            unit="workdays",
            reminder_workdays=None,
            actor="admin.hf",
            clock=rt.clock,
        )
    page = open_page()
    _open_editor(page)
    for path in sorted(BPMN.glob("*.bpmn")):
        lint, server = _lint_and_validate(page, path.name, path.read_text(encoding="utf-8"))
        assert lint == server == set(), path.name

    shipped = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
    loose = shipped.replace(
        '<bpmn:userTask id="register"',
        '<bpmn:userTask id="loose_task" name="孤立的步骤"/>\n    <bpmn:userTask id="register"',
    ).replace(
        "<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>decide</bpmn:flowNodeRef><bpmn:flowNodeRef>loose_task</bpmn:flowNodeRef>",
    )
    bare = shipped.replace(' default="flow_no_tolerance"', "")  # a flow without a condition
    # no limit in the BPMN: 立案 has none, 问责决定 has the administrator's
    untimed = re.sub(
        r'(<bpmn:userTask id="(?:register|decide)"(?:(?!</bpmn:userTask>).)*?)'
        r'<spiffworkflow:property name="timeLimit" value="[^"]*"/>',
        r"\1",
        shipped,
        flags=re.DOTALL,
    )
    assert (
        bare != shipped
        and untimed.count('name="timeLimit"') == shipped.count('name="timeLimit"') - 2
    )
    for xml, expected in ((loose, 2), (bare, 1), (untimed, 1)):
        lint, server = _lint_and_validate(page, "accountability.bpmn", xml)
        assert lint == server and len(lint) == expected, (lint, server)

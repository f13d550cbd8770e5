"""Deploying with a 版本说明 and a confirmation of warnings, the version list with notes, and
the difference between two versions, over HTTP."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.apps import app_for
from tests.support.world import BPMN, FORMS, World
from workflows.engine.models import AuditEvent, DecisionVersion, ProcessVersion
from workflows.runtime import Runtime

ACCOUNTABILITY = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
RENAMED = ACCOUNTABILITY.replace(
    '<bpmn:userTask id="investigate" name="责任调查">',
    '<bpmn:userTask id="investigate" name="责任调查核实">',
)
# investigate without its form: a warning
NO_FORM = ACCOUNTABILITY.replace(
    '<spiffworkflow:property name="formJsonSchemaFilename" '
    'value="accountability_investigate.schema.json"/>',
    "",
).replace(
    '<spiffworkflow:property name="formUiSchemaFilename" '
    'value="accountability_investigate.uischema.json"/>',
    "",
)
# a task dropped on the canvas, connected to nothing: an error
STRAY = ACCOUNTABILITY.replace(
    '<bpmn:userTask id="investigate" name="责任调查">',
    '<bpmn:userTask id="stray" name="孤立任务"></bpmn:userTask>\n'
    '    <bpmn:userTask id="investigate" name="责任调查">',
).replace(
    "<bpmn:flowNodeRef>investigate</bpmn:flowNodeRef>",
    "<bpmn:flowNodeRef>investigate</bpmn:flowNodeRef><bpmn:flowNodeRef>stray</bpmn:flowNodeRef>",
)


def _files(content: str) -> list[dict[str, str]]:
    return [{"name": "accountability.bpmn", "content": content}]


@pytest.fixture
def app(rt: Runtime, world: World) -> Flask:
    shipped = Runtime(
        dataclasses.replace(rt.settings, forms_dir=FORMS),
        db=rt.db,
        clock=rt.clock,
        hasher=rt.hasher,
    )
    return app_for(shipped)


def _rows(rt: Runtime) -> list[tuple[int, str | None, str, int]]:
    with rt.db.reading() as session:
        return [
            (r.version, r.note, r.deployed_by, r.confirmed_warnings)
            for r in session.execute(
                select(ProcessVersion)
                .where(ProcessVersion.process_key == "accountability")
                .order_by(ProcessVersion.version)
            ).scalars()
        ]


def test_samples_differ_as_intended() -> None:
    assert NO_FORM != ACCOUNTABILITY and "stray" in STRAY and STRAY.count("stray") == 2


def test_an_unconnected_task_refuses_the_deploy_with_422_naming_it(
    world: World, login: Any, rt: Runtime
) -> None:
    response = login("designer.hf").post(
        "/processes", json={"files": _files(STRAY), "note": "加一步", "confirm": True}
    )
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "invalid_definition"
    errors = [p for p in body["problems"] if p["severity"] == "error"]
    assert {(p["element"], p["name"]) for p in errors} == {("stray", "孤立任务")}
    assert all("未连接" in p["reason"] for p in errors)
    assert len(_rows(rt)) == 1


def test_validate_lists_errors_and_warnings_with_severity(world: World, login: Any) -> None:
    api = login("designer.hf")
    bad = api.post("/processes/validate", json={"files": _files(STRAY)}).get_json()
    assert bad["ok"] is False and bad["errors"] == 2
    assert {p["element"] for p in bad["problems"]} >= {"stray"}
    warned = api.post("/processes/validate", json={"files": _files(NO_FORM)}).get_json()
    assert warned["ok"] is True and (warned["errors"], warned["warnings"]) == (0, 1)
    [problem] = warned["problems"]
    assert problem == {
        "file": "accountability.bpmn",
        "element": "investigate",
        "name": "责任调查",
        "severity": "warning",
        "reason": "人工任务没有表单（formJsonSchemaFilename）：办理人只能直接提交",
    }


def test_warnings_need_a_confirmation_then_deploy_with_the_note(
    world: World, login: Any, rt: Runtime
) -> None:
    api = login("designer.hf")
    refused = api.post("/processes", json={"files": _files(NO_FORM), "note": "调查不再填表"})
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "confirmation_required"
    assert [(p["element"], p["severity"]) for p in body["problems"]] == [("investigate", "warning")]
    assert len(_rows(rt)) == 1
    done = api.post(
        "/processes", json={"files": _files(NO_FORM), "note": "调查不再填表", "confirm": True}
    )
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["deployed"] == [{"key": "accountability", "version": 2}]
    assert [p["element"] for p in done.get_json()["warnings"]] == ["investigate"]
    assert _rows(rt)[-1] == (2, "调查不再填表", "designer.hf", 1)
    with rt.db.reading() as session:
        audit = session.execute(
            select(AuditEvent)
            .where(AuditEvent.action == "process.deploy")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()
    detail = json.loads(audit.detail)
    assert (detail["note"], detail["confirmed_warnings"], detail["version"]) == (
        "调查不再填表",
        1,
        2,
    )


@pytest.mark.parametrize(
    ("note", "words"),
    [(None, "不能为空"), ("", "不能为空"), ("   ", "不能为空"), ("说" * 501, "不能超过 500 字")],
    ids=["missing", "empty", "blank", "too-long"],
)
def test_the_note_is_required_and_bounded(
    world: World, login: Any, rt: Runtime, note: str | None, words: str
) -> None:
    body: dict[str, Any] = {"files": _files(RENAMED)}
    if note is not None:
        body["note"] = note
    response = login("designer.hf").post("/processes", json=body)
    assert response.status_code == 422, response.get_json()
    assert words in response.get_json()["errors"]["note"][0]
    assert len(_rows(rt)) == 1


def test_a_note_of_500_characters_is_stored_trimmed_and_listed(
    world: World, login: Any, rt: Runtime
) -> None:
    api = login("designer.hf")
    note = "改" * 500
    response = api.post("/processes", json={"files": _files(RENAMED), "note": f"  {note} "})
    assert response.status_code == 201, response.get_json()
    versions = api.get("/processes/accountability").get_json()["versions"]
    assert [(v["version"], v["note"], v["deployed_by"]) for v in versions] == [
        (2, note, "designer.hf"),
        (1, "测试部署", "designer.hf"),
    ]
    assert versions[0]["confirmed_warnings"] == 0
    assert versions[0]["deployed_by_name"] == "designer hf（合肥市·流程设计）"
    listed = next(p for p in api.get("/processes").get_json() if p["key"] == "accountability")
    assert listed["deployed_by_name"] == "designer hf（合肥市·流程设计）"


def test_a_decision_tables_note_is_kept_with_its_version(
    world: World, login: Any, rt: Runtime
) -> None:
    dmn = (BPMN / "decisions" / "six_elements.dmn").read_text(encoding="utf-8")
    changed = dmn.replace("</definitions>", "<!-- 调整 --></definitions>", 1)
    assert changed != dmn
    files = [{"name": "six_elements.dmn", "content": changed}]
    api = login("designer.hf")
    response = api.post("/processes", json={"files": files, "note": "六要件表补充注释"})
    assert response.status_code == 201, response.get_json()
    with rt.db.reading() as session:
        notes = session.execute(
            select(DecisionVersion.version, DecisionVersion.note).order_by(DecisionVersion.id)
        ).all()
    assert [tuple(n) for n in notes][-1][1] == "六要件表补充注释"


def test_the_diff_of_two_versions_names_what_changed(world: World, login: Any) -> None:
    api = login("designer.hf")
    changed = RENAMED.replace(
        '<spiffworkflow:property name="timeLimit" value="30 workdays"/>',
        '<spiffworkflow:property name="timeLimit" value="20 workdays"/>',
    )
    deployed = api.post("/processes", json={"files": _files(changed), "note": "缩短调查时限"})
    assert deployed.status_code == 201, deployed.get_json()
    body = api.get("/processes/accountability/versions/1/diff/2").get_json()
    assert (body["key"], body["old"], body["new"]) == ("accountability", 1, 2)
    assert body["added"] == [] and body["removed"] == []
    [task] = [c for c in body["changed"] if c["id"] == "investigate"]
    assert task["kind"] == "userTask" and task["kind_name"] == "人工任务"
    assert {"what": "name", "before": "责任调查", "after": "责任调查核实"} in task["changes"]
    assert {
        "what": "property:timeLimit",
        "before": "30 workdays",
        "after": "20 workdays",
    } in task["changes"]
    assert body["forms_changed"] == [] and body["forms_added"] == []
    back = api.get("/processes/accountability/versions/2/diff/1").get_json()
    assert {"what": "name", "before": "责任调查核实", "after": "责任调查"} in next(
        c for c in back["changed"] if c["id"] == "investigate"
    )["changes"]


def test_the_diff_lists_added_and_removed_elements_and_forms(world: World, login: Any) -> None:
    api = login("designer.hf")
    deployed = api.post(
        "/processes", json={"files": _files(NO_FORM), "note": "调查不填表", "confirm": True}
    )
    assert deployed.status_code == 201
    body = api.get("/processes/accountability/versions/1/diff/2").get_json()
    assert body["forms_removed"] == [
        "accountability_investigate.schema.json",
        "accountability_investigate.uischema.json",
    ]
    [task] = [c for c in body["changed"] if c["id"] == "investigate"]
    assert {c["what"] for c in task["changes"]} == {
        "property:formJsonSchemaFilename",
        "property:formUiSchemaFilename",
    }


def test_the_diff_refuses_a_missing_version_and_non_designers(world: World, login: Any) -> None:
    missing = login("designer.hf").get("/processes/accountability/versions/1/diff/9")
    assert missing.status_code == 404 and "第 9 版" in missing.get_json()["detail"]
    assert login("designer.hf").get("/processes/nothing/versions/1/diff/1").status_code == 404
    clerk = login("discipline.hf").get("/processes/accountability/versions/1/diff/1")
    assert clerk.status_code == 403

"""The process catalogue, version diagrams, validating and deploying BPMN/DMN over HTTP."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.apps import app_for
from tests.support.world import BPMN, FORMS, World
from workflows.engine.models import AuditEvent, ProcessVersion
from workflows.runtime import Runtime

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
ACCOUNTABILITY = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
RENAMED = ACCOUNTABILITY.replace(
    '<bpmn:userTask id="investigate" name="责任调查">',
    '<bpmn:userTask id="investigate" name="责任调查核实">',
)
UNKNOWN_LANE = ACCOUNTABILITY.replace('name="committee"', 'name="nobody"')


@pytest.fixture
def app(rt: Runtime, world: World) -> Flask:
    """The app with the shipped forms/, which the shipped processes reference."""
    shipped = Runtime(
        dataclasses.replace(rt.settings, forms_dir=FORMS),
        db=rt.db,
        clock=rt.clock,
        hasher=rt.hasher,
    )
    return app_for(shipped)


def _versions(rt: Runtime, key: str) -> int:
    with rt.db.reading() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(ProcessVersion)
                .where(ProcessVersion.process_key == key)
            ).scalar_one()
        )


def test_catalogue_lists_processes_with_names_and_running_instances(
    world: World, login: Any
) -> None:
    world.open("accountability", data=REGISTER)
    body = login("discipline.hf").get("/processes").get_json()
    by_key = {p["key"]: p for p in body}
    assert set(by_key) >= {
        "accountability",
        "tolerance_review",
        "appeal",
        "rectification",
        "clarification",
    }
    entry = by_key["accountability"]
    assert entry["name"] == "问责"  # the BPMN process name
    assert (entry["latest_version"], entry["version_count"], entry["deployed_by"]) == (
        1,
        1,
        "designer.hf",
    )
    assert entry["running_by_version"] == [{"version": 1, "running": 1}] and entry["running"] == 1
    assert "bpmn_xml" not in entry
    # another unit's clerk learns nothing of this unit's case
    other = {p["key"]: p for p in login("discipline.wh").get("/processes").get_json()}
    assert other["accountability"]["running"] == 0


def test_process_detail_shows_xml_to_designers_only(world: World, login: Any) -> None:
    designer = login("designer.hf").get("/processes/accountability").get_json()
    assert designer["bpmn_xml"].startswith("<?xml")
    assert "accountability_register.schema.json" in designer["forms"]
    assert designer["versions"][0]["bpmn_url"] == "/api/v1/processes/accountability/versions/1/bpmn"
    assert login("admin.hf").get("/processes/accountability").get_json()["bpmn_xml"]
    clerk = login("discipline.hf").get("/processes/accountability").get_json()
    assert clerk["bpmn_xml"] is None and clerk["versions"][0]["running"] == 0
    assert login("discipline.hf").get("/processes/nothing").status_code == 404


def test_version_diagram_is_readable_by_whoever_sees_cases(world: World, login: Any) -> None:
    for user in ("discipline.hf", "supervisor.wh", "zhang", "designer.hf"):
        response = login(user).get("/processes/accountability/versions/1/bpmn")
        assert response.status_code == 200 and response.mimetype == "application/xml"
        assert b'id="investigate"' in response.get_data()
    api = login("discipline.hf")
    assert api.get("/processes/accountability/versions/9/bpmn").status_code == 404
    assert api.get("/processes/accountability/versions/2147483648/bpmn").status_code == 404
    assert api.get("/processes/nothing/versions/1/bpmn").status_code == 404


def test_catalogue_needs_a_login(app: Flask) -> None:
    assert app.test_client().get("/api/v1/processes").status_code == 401


def test_validate_names_file_and_element_and_stores_nothing(
    world: World, login: Any, rt: Runtime
) -> None:
    api = login("designer.hf")
    response = api.post(
        "/processes/validate",
        json={"files": [{"name": "accountability.bpmn", "content": UNKNOWN_LANE}]},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ok"] is False
    assert {"file": "accountability.bpmn", "element": "decide"} in [
        {"file": p["file"], "element": p["element"]} for p in body["problems"]
    ]
    assert "nobody" in " ".join(p["reason"] for p in body["problems"])
    good = api.post(
        "/processes/validate", json={"files": [{"name": "accountability.bpmn", "content": RENAMED}]}
    )
    assert (
        good.get_json()["ok"] is True and good.get_json()["processes"][0]["key"] == "accountability"
    )
    assert _versions(rt, "accountability") == 1


def test_validate_takes_a_multipart_upload(world: World, login: Any) -> None:
    api = login("designer.hf")
    response = api.client.post(
        "/api/v1/processes/validate",
        content_type="multipart/form-data",
        data={
            "files": [
                (io.BytesIO(RENAMED.encode()), "accountability.bpmn"),
                (
                    io.BytesIO((BPMN / "decisions" / "six_elements.dmn").read_bytes()),
                    "six_elements.dmn",
                ),
            ]
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ok"] is True and [d["file"] for d in body["decisions"]] == ["six_elements.dmn"]


def test_only_designers_validate_and_deploy(world: World, login: Any, rt: Runtime) -> None:
    files = {"files": [{"name": "accountability.bpmn", "content": RENAMED}]}
    for user in ("admin.hf", "discipline.hf", "supervisor.hf", "zhang"):
        api = login(user)
        assert api.post("/processes/validate", json=files).status_code == 403
        refused = api.post("/processes", json=files)
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert _versions(rt, "accountability") == 1


def test_deploying_a_renamed_task_creates_a_new_version(
    world: World, login: Any, rt: Runtime
) -> None:
    case = world.open("accountability", data=REGISTER)
    api = login("designer.hf")
    response = api.post(
        "/processes",
        json={"files": [{"name": "accountability.bpmn", "content": RENAMED}], "note": "改名"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        "deployed": [{"key": "accountability", "version": 2}],
        "unchanged": [],
        "warnings": [],
    }
    detail = api.get("/processes/accountability").get_json()
    assert [(v["version"], v["running"]) for v in detail["versions"]] == [(2, 0), (1, 1)]
    assert detail["latest_version"] == 2 and "责任调查核实" in detail["bpmn_xml"]
    assert world.case(case.id).instance_id  # the running case keeps version 1
    again = api.post(
        "/processes",
        json={"files": [{"name": "accountability.bpmn", "content": RENAMED}], "note": "再次"},
    )
    assert again.status_code == 201
    assert again.get_json() == {
        "deployed": [],
        "unchanged": [{"key": "accountability", "version": 2}],
        "warnings": [],
    }
    with rt.db.reading() as session:
        row = session.execute(
            select(AuditEvent)
            .where(AuditEvent.action == "process.deploy")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()
    assert row.actor == "designer.hf" and json.loads(row.detail)["by"]["role"] == "designer"


def test_multipart_deploy(world: World, login: Any, rt: Runtime) -> None:
    api = login("designer.hf")
    response = api.client.post(
        "/api/v1/processes",
        content_type="multipart/form-data",
        headers={"X-CSRF-Token": api.csrf},
        data={
            "files": [(io.BytesIO(RENAMED.encode()), "accountability.bpmn")],
            "note": "上传文件部署",
        },
    )
    assert response.status_code == 201, response.get_json()
    assert _versions(rt, "accountability") == 2


def test_deploy_with_problems_is_422_and_stores_nothing(
    world: World, login: Any, rt: Runtime
) -> None:
    response = login("designer.hf").post(
        "/processes",
        json={
            "files": [{"name": "accountability.bpmn", "content": UNKNOWN_LANE}],
            "note": "试部署",
            "confirm": True,
        },
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problems = response.get_json()["problems"]
    assert any(p["element"] == "decide" and p["file"] == "accountability.bpmn" for p in problems)
    assert _versions(rt, "accountability") == 1


def test_files_that_are_not_definitions_are_refused_by_name(world: World, login: Any) -> None:
    api = login("designer.hf")
    response = api.post(
        "/processes",
        json={
            "files": [
                {"name": "accountability.bpmn", "content": RENAMED},
                {"name": "notes.txt", "content": "x"},
            ]
        },
    )
    assert response.status_code == 422
    assert "notes.txt" in response.get_json()["errors"]["files.1"][0]
    response = api.client.post(
        "/api/v1/processes/validate",
        content_type="multipart/form-data",
        data={"files": [(io.BytesIO(b"MZ"), "tool.exe")]},
    )
    assert response.status_code == 422 and "tool.exe" in response.get_json()["errors"]["files.0"][0]


def test_bad_bodies_name_the_field(world: World, login: Any) -> None:
    api = login("designer.hf")
    assert set(api.post("/processes/validate", json={}).get_json()["errors"]) == {"files"}
    missing = api.post("/processes", json={"files": [{"name": "a.bpmn"}]})
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"files.0.content"}
    empty = api.post("/processes/validate", json={"files": []})
    assert empty.status_code == 422 and "files" in empty.get_json()["errors"]


def test_oversized_definition_is_a_problem_not_a_crash(
    world: World, login: Any, app: Flask
) -> None:
    limit = app.extensions["cadreflow"].settings.max_definition_bytes
    big = ACCOUNTABILITY.replace(
        "</bpmn:definitions>", "<!--" + "x" * limit + "--></bpmn:definitions>"
    )
    body = (
        login("designer.hf")
        .post(
            "/processes/validate", json={"files": [{"name": "accountability.bpmn", "content": big}]}
        )
        .get_json()
    )
    assert body["ok"] is False and body["problems"][0]["file"] == "accountability.bpmn"


def test_validate_lists_nothing_deployable_while_an_error_refuses_the_upload(
    world: World, login: Any
) -> None:
    api = login("designer.hf")
    files = [
        {"name": "accountability.bpmn", "content": ACCOUNTABILITY},
        {"name": "other.bpmn", "content": UNKNOWN_LANE.replace('id="accountability"', 'id="x"')},
    ]
    body = api.post("/processes/validate", json={"files": files}).get_json()
    assert body["ok"] is False and body["errors"] >= 1
    assert body["processes"] == [] and body["decisions"] == []
    alone = api.post("/processes/validate", json={"files": files[:1]}).get_json()
    assert [p["key"] for p in alone["processes"]] == ["accountability"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("x.bpmn", "<x/>", "不是 BPMN 文件：根元素为 x，应为 bpmn:definitions"),
        ("x.dmn", ACCOUNTABILITY, "不是 DMN 文件：根元素为 definitions，应为 dmn:definitions"),
        (
            "x.bpmn",
            '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>',
            "文件中没有流程（bpmn:process）",
        ),
    ],
)
def test_a_file_that_is_not_a_definition_of_its_kind_is_refused_by_name(
    world: World, login: Any, name: str, content: str, reason: str
) -> None:
    api = login("designer.hf")
    body = api.post("/processes/validate", json={"files": [{"name": name, "content": content}]})
    assert body.get_json()["ok"] is False
    assert {"file": name, "reason": reason} in [
        {"file": p["file"], "reason": p["reason"]} for p in body.get_json()["problems"]
    ]
    deployed = api.post(
        "/processes", json={"files": [{"name": name, "content": content}], "note": "试"}
    )
    assert deployed.status_code == 422


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            'name="capacity" value="decided"',
            'name="capacity" value="boss"',
            "capacity：'boss' 应为 handled（经办）或 decided（作出决定）",
        ),
        (
            'name="assigneeFrom" value="reviewer"',
            'name="assigneeFrom" value="reviewer name"',
            "assigneeFrom：应为流程数据的字段名（字母开头，只含字母、数字和下划线）",
        ),
    ],
)
def test_a_capacity_or_assignee_source_the_engine_cannot_use_is_refused(
    world: World, login: Any, old: str, new: str, reason: str
) -> None:
    name = "appeal.bpmn" if "assigneeFrom" in old else "accountability.bpmn"
    source = (BPMN / name).read_text(encoding="utf-8")
    assert old in source
    files = [{"name": name, "content": source.replace(old, new, 1)}]
    body = login("designer.hf").post("/processes/validate", json={"files": files}).get_json()
    assert body["ok"] is False and reason in [p["reason"] for p in body["problems"]]

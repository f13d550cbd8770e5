"""The form designer's API: drafts saved over the revision they started from, refused when
the form would not deploy, discarded, tried with sample data, and deployed with their
processes; a case started afterwards completes with the new form."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.api.test_documents import PDF
from tests.support.apps import app_for
from tests.support.world import BPMN, FORMS, World
from workflows.definitions import catalog
from workflows.engine.models import AuditEvent, FormDraft
from workflows.runtime import Runtime

STEM = "accountability_register"
REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
SCHEMA = json.loads((FORMS / f"{STEM}.schema.json").read_text(encoding="utf-8"))
UISCHEMA = json.loads((FORMS / f"{STEM}.uischema.json").read_text(encoding="utf-8"))


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


def with_date() -> tuple[dict[str, Any], dict[str, Any]]:
    """立案 with a required 决定日期 (a date) and a rule: a petition needs its 信访编号."""
    schema, ui = copy.deepcopy(SCHEMA), copy.deepcopy(UISCHEMA)
    schema["properties"]["decided_on"] = {"type": "string", "format": "date", "title": "决定日期"}
    schema["properties"]["petition_no"] = {"type": "string", "title": "信访编号"}
    schema["required"] = ["decided_on"]
    schema["allOf"] = [
        {
            "if": {"properties": {"source": {"const": "petition"}}, "required": ["source"]},
            "then": {"required": ["petition_no"]},
        }
    ]
    ui["ui:order"] = [*ui["ui:order"], "decided_on", "petition_no"]
    ui["decided_on"] = {"ui:help": "党委（党组）作出决定的日期"}
    return schema, ui


def save(api: Any, schema: Any, ui: Any, base: int) -> Any:
    return api.put(
        f"/forms/{STEM}/draft", json={"schema": schema, "uischema": ui, "base_revision": base}
    )


def actions(rt: Runtime) -> list[str]:
    """The audited changes of definitions, in order (not the logins)."""
    with rt.db.reading() as session:
        found = session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars()
        return [a for a in found if a.startswith(("form.", "process."))]


def test_a_saved_draft_is_listed_and_read_back_with_its_revision(login: Any, rt: Runtime) -> None:
    api = login("designer.hf")
    listed = {f["stem"]: f for f in api.get("/forms").get_json()}
    assert listed[STEM]["deployed"] and listed[STEM]["draft"] is None
    assert {"key": "accountability", "version": 1} in listed[STEM]["used_by"]
    schema, ui = with_date()
    saved = save(api, schema, ui, 0)
    assert saved.status_code == 200, saved.get_json()
    assert (saved.get_json()["revision"], saved.get_json()["saved_by"]) == (1, "designer.hf")
    body = api.get(f"/forms/{STEM}").get_json()
    assert body["schema"] == SCHEMA and body["draft"]["schema"] == schema
    assert body["draft"]["uischema"] == ui and body["draft"]["revision"] == 1
    again = save(api, {**schema, "title": "立案（修订）"}, ui, 1)
    assert again.get_json()["revision"] == 2
    listed = {f["stem"]: f for f in login("admin.hf").get("/forms").get_json()}
    assert listed[STEM]["draft"]["revision"] == 2 and listed[STEM]["title"] == "立案（修订）"
    assert actions(rt)[-2:] == ["form.draft_save", "form.draft_save"]


def test_the_second_designer_saving_the_same_revision_is_told_and_nothing_is_lost(
    login: Any, rt: Runtime
) -> None:
    first, second = login("designer.hf"), login("designer.wh")
    schema, ui = with_date()
    assert save(first, schema, ui, 0).status_code == 200
    mine = {**schema, "title": "甲的修改"}
    theirs = {**schema, "title": "乙的修改"}
    assert save(first, mine, ui, 1).status_code == 200
    refused = save(second, theirs, ui, 1)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "draft_conflict"
    assert body["draft"]["revision"] == 2 and body["draft"]["saved_by"] == "designer.hf"
    assert body["draft"]["saved_at"]
    assert "designer.hf" in body["detail"] and "第 2 稿" in body["detail"]
    assert "第 1 稿" in body["detail"]
    # a second "new" draft of the same form is the same conflict
    assert save(second, theirs, ui, 0).get_json()["code"] == "draft_conflict"
    with rt.db.reading() as session:
        row = session.execute(select(FormDraft)).scalar_one()
        assert (row.revision, json.loads(row.schema_json)["title"]) == (2, "甲的修改")
    # overwriting is a save over the revision the conflict named
    assert save(second, theirs, ui, 2).get_json()["revision"] == 3


@pytest.mark.parametrize(
    ("schema", "ui", "field"),
    [
        (
            {"type": "object", "properties": {"x": {"type": "strin"}}},
            {},
            "schema.properties.x.type",
        ),
        ({"type": "array"}, {}, "schema.type"),
        (
            {"type": "object", "properties": {"决定": {"type": "string"}}},
            {},
            "schema.properties.决定",
        ),
        ({"type": "object", "properties": {}, "required": ["missing"]}, {}, "schema.required.0"),
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
            },
            {},
            "schema.properties.n.maximum",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "dependentRequired": {"a": ["b"]},
            },
            {},
            "schema.dependentRequired.a.0",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "allOf": [
                    {"if": {"properties": {"z": {"const": "x"}}}, "then": {"required": ["a"]}}
                ],
            },
            {},
            "schema.allOf.0.if.properties.z",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"a": {"ui:widget": "slider"}},
            "uischema.a.ui:widget",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"a": {"ui:widget": "document"}},
            "uischema.a.ui:widget",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"ui:order": ["b"]},
            "uischema.ui:order.0",
        ),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, [], "uischema"),
        ("{}", {}, "schema"),
    ],
)
def test_a_form_that_would_not_deploy_is_refused_naming_its_path_and_not_stored(
    login: Any, rt: Runtime, schema: Any, ui: Any, field: str
) -> None:
    refused = save(login("designer.hf"), schema, ui, 0)
    assert refused.status_code == 422
    body = refused.get_json()
    assert field in body["errors"], body
    assert all("\u4e00" <= ch <= "\u9fff" for ch in body["errors"][field][0][:1]) or any(
        "\u4e00" <= ch <= "\u9fff" for ch in body["errors"][field][0]
    )
    with rt.db.reading() as session:
        assert session.execute(select(FormDraft)).first() is None


def test_a_form_nested_too_deep_is_refused_by_its_depth(login: Any, rt: Runtime) -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(40):  # each level of properties is two levels of JSON
        deep = {"type": "object", "properties": {"a": deep}}
    refused = save(login("designer.hf"), deep, {}, 0)
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["(body)"] == ["JSON 嵌套不能超过 64 层"]
    with rt.db.reading() as session:
        assert session.execute(select(FormDraft)).first() is None


def test_a_discarded_draft_is_gone_and_a_stale_discard_is_refused(login: Any, rt: Runtime) -> None:
    api = login("designer.hf")
    schema, ui = with_date()
    save(api, schema, ui, 0)
    save(api, schema, ui, 1)
    stale = api.delete(f"/forms/{STEM}/draft?revision=1")
    assert stale.status_code == 409 and stale.get_json()["draft"]["revision"] == 2
    assert api.delete(f"/forms/{STEM}/draft?revision=2").status_code == 204
    assert api.get(f"/forms/{STEM}").get_json()["draft"] is None
    assert api.delete(f"/forms/{STEM}/draft").status_code == 404
    assert actions(rt)[-1] == "form.draft_discard"


def test_the_preview_check_says_what_completion_would_refuse(login: Any) -> None:
    api = login("designer.hf")
    schema, ui = with_date()
    body = {"schema": schema, "uischema": ui, "data": {**REGISTER, "source": "petition"}}
    found = api.post(f"/forms/{STEM}/preview", json=body).get_json()
    assert found["ok"] is False
    assert sorted(found["errors"], key=lambda e: e["field"]) == [
        {"field": "decided_on", "message": "请填写此项"},
        {"field": "petition_no", "message": "选择「问题线索来源：信访举报」时必填"},
    ]
    body["data"] = {**REGISTER, "decided_on": "2026-02-30"}
    found = api.post(f"/forms/{STEM}/preview", json=body).get_json()
    assert found["errors"] == [{"field": "decided_on", "message": "请填写有效的日期（年-月-日）"}]
    body["data"] = {**REGISTER, "decided_on": "2026-03-02"}
    assert api.post(f"/forms/{STEM}/preview", json=body).get_json() == {"ok": True, "errors": []}
    schema["properties"]["decided_on"]["x-past"] = True  # a date of something done: not ahead
    body["data"] = {**REGISTER, "decided_on": "2026-03-03"}
    assert api.post(f"/forms/{STEM}/preview", json=body).get_json()["errors"] == [
        {"field": "decided_on", "message": "不能晚于今天（2026-03-02）：所记录的事须已发生"}
    ]
    refused = api.post(f"/forms/{STEM}/preview", json={**body, "schema": {"type": "array"}})
    assert refused.status_code == 422 and "schema.type" in refused.get_json()["errors"]


def test_deploying_pins_the_draft_deletes_it_and_new_cases_use_the_new_form(
    login: Any, world: World, rt: Runtime
) -> None:
    before = world.open("accountability", data=REGISTER)
    api = login("designer.hf")
    schema, ui = with_date()
    save(api, schema, ui, 0)
    missing_note = api.post(f"/forms/{STEM}/deploy", json={"confirm": True})
    assert missing_note.status_code == 422 and "note" in missing_note.get_json()["errors"]
    assert api.get(f"/forms/{STEM}").get_json()["draft"]["revision"] == 1  # kept
    deployed = api.post(f"/forms/{STEM}/deploy", json={"note": "立案增加决定日期", "confirm": True})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["deployed"] == [{"key": "accountability", "version": 2}]
    form = api.get(f"/forms/{STEM}").get_json()
    assert form["draft"] is None and form["schema"] == schema and form["uischema"] == ui
    with rt.db.reading() as session:
        pinned = json.loads(
            catalog.version_row(session, key="accountability", version=2).forms_json
        )
        assert pinned[f"{STEM}.schema.json"] == schema
        assert session.execute(select(FormDraft)).first() is None
    assert actions(rt)[-2:] == ["process.deploy", "form.draft_deploy"]

    clerk = login("discipline.hf")
    after = world.open("accountability", data=REGISTER)
    task = world.task(after, "register").id
    refused = clerk.post(f"/tasks/{task}/complete", json={"data": {"register_note": "同意立案"}})
    assert refused.status_code == 422
    assert "decided_on" in refused.get_json()["errors"]
    done = clerk.post(
        f"/tasks/{task}/complete",
        json={"data": {"register_note": "同意立案", "decided_on": "2026-03-02"}},
    )
    assert done.status_code == 200, done.get_json()
    # the case started before keeps the form of its version
    old = world.task(before, "register").id
    assert clerk.post(f"/tasks/{old}/complete", json={"data": {}}).status_code == 200


def test_a_process_deployed_through_the_api_pins_the_draft_too(login: Any, rt: Runtime) -> None:
    api = login("designer.hf")
    schema, ui = with_date()
    save(api, schema, ui, 0)
    xml = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
    files = {"files": [{"name": "accountability.bpmn", "content": xml}]}
    checked = api.post("/processes/validate", json=files).get_json()
    assert checked["ok"], checked
    deployed = api.post("/processes", json={**files, "note": "带表单草稿部署", "confirm": True})
    assert deployed.get_json()["deployed"] == [{"key": "accountability", "version": 2}]
    with rt.db.reading() as session:
        pinned = json.loads(
            catalog.version_row(session, key="accountability", version=2).forms_json
        )
        assert pinned[f"{STEM}.schema.json"]["required"] == ["decided_on"]
    # deploying again (as a restart would) reads the deployed form, not forms/: nothing changes
    again = api.post("/processes", json={**files, "note": "再次部署", "confirm": True}).get_json()
    assert again["unchanged"] == [{"key": "accountability", "version": 2}]


def test_a_form_no_process_uses_cannot_be_deployed_alone(login: Any) -> None:
    api = login("designer.hf")
    api.put("/forms/new_form/draft", json={"schema": SCHEMA, "uischema": {}, "base_revision": 0})
    refused = api.post("/forms/new_form/deploy", json={"note": "新表单", "confirm": True})
    assert refused.status_code == 404 and "new_form.schema.json" in refused.get_json()["detail"]


def test_only_designers_write_and_designers_and_administrators_read(login: Any) -> None:
    schema, ui = with_date()
    for user in ("discipline.hf", "supervisor.hf", "admin.hf"):
        assert save(login(user), schema, ui, 0).status_code == 403
        assert login(user).post(f"/forms/{STEM}/deploy", json={"note": "x"}).status_code == 403
    for user in ("discipline.hf", "supervisor.hf", "zhang"):
        assert login(user).get("/forms").status_code == 403
        assert login(user).get(f"/forms/{STEM}").status_code == 403
    assert login("admin.hf").get(f"/forms/{STEM}").status_code == 200
    assert save(login("designer.hf"), schema, ui, 0).status_code == 200
    assert login("admin.hf").delete(f"/forms/{STEM}/draft").status_code == 403


def _upload(api: Any, case_id: int) -> int:
    response = api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        data={"file": (io.BytesIO(PDF), "审计报告.pdf")},
        headers=api._headers(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_a_document_reference_must_name_a_document_of_the_case(login: Any, world: World) -> None:
    designer = login("designer.hf")
    schema, ui = copy.deepcopy(SCHEMA), copy.deepcopy(UISCHEMA)
    schema["properties"]["audit_report"] = {"type": "integer", "title": "审计报告"}
    ui["audit_report"] = {"ui:widget": "document"}
    assert save(designer, schema, ui, 0).status_code == 200
    assert designer.post(f"/forms/{STEM}/deploy", json={"note": "引用审计报告"}).status_code == 201
    clerk = login("discipline.hf")
    case, other = (world.open("accountability", data=REGISTER) for _ in range(2))
    own_document, other_document = _upload(clerk, case.id), _upload(clerk, other.id)
    task = world.task(case, "register").id
    refused = clerk.post(f"/tasks/{task}/complete", json={"data": {"audit_report": other_document}})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "audit_report": ["应为本案件的材料（未撤回的案件材料）"]
    }
    done = clerk.post(f"/tasks/{task}/complete", json={"data": {"audit_report": own_document}})
    assert done.status_code == 200, done.get_json()

"""Cases over HTTP: opening by policy, lists scoped by jurisdiction, one case with its tasks,
timeline, links and diagram, appeals and exemption applications."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.conftest import advance_clock
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime

FINDING = {"facts": "审计发现违规拨付专项资金", "evidence": "审计报告〔2026〕3号"}
REGISTER = {"source": "audit", **FINDING}


def _open(api: Any, **body: Any) -> Any:
    return api.post("/cases", json=body)


def _accountability(world: World, login: Any) -> dict[str, Any]:
    response = _open(
        login("discipline.hf"),
        process="accountability",
        cadre_id=world.cadres["zhang"],
        source="audit",
        data=FINDING,
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


# --- opening ---------------------------------------------------------------------------------


def test_opened_case_has_a_number_and_its_first_task_is_in_the_queue(
    world: World, login: Any
) -> None:
    body = _accountability(world, login)
    assert body["number"].startswith("WZ-2026-") and body["status"] == "open"
    assert (body["process"], body["kind_name"], body["subject_name"]) == (
        "accountability",
        "问责",
        "张三",
    )
    assert [t["element"] for t in body["tasks"]] == ["register"]
    queue = login("discipline.hf").get("/tasks?queue=role").get_json()["items"]
    assert [(t["case_id"], t["element"]) for t in queue] == [(body["id"], "register")]


def test_opening_is_audited_with_role_and_unit(world: World, login: Any, rt: Any) -> None:
    body = _accountability(world, login)
    with rt.db.reading() as session:
        row = session.execute(
            select(AuditEvent).where(AuditEvent.action == "case.open")
        ).scalar_one()
    detail = json.loads(row.detail)
    assert (row.actor, row.object_id, detail["number"]) == (
        "discipline.hf",
        str(body["id"]),
        body["number"],
    )
    assert detail["by"]["role"] == "discipline" and detail["by"]["org_unit"] == "ah-hf"


def test_wrong_role_may_not_open_a_case(world: World, login: Any) -> None:
    for user in ("supervisor.hf", "committee.hf", "unit.hf", "designer.hf", "zhang"):
        response = _open(
            login(user),
            process="accountability",
            cadre_id=world.cadres["zhang"],
            source="audit",
            data=FINDING,
        )
        assert response.status_code == 403, user
    assert (
        _open(
            login("organization.hf"),
            process="accountability",
            cadre_id=world.cadres["zhang"],
            source="audit",
            data=FINDING,
        ).status_code
        == 201
    )


def test_an_object_or_a_list_where_text_or_a_number_belongs_is_named(
    world: World, login: Any
) -> None:
    api = login("discipline.hf")
    good = {
        "process": "accountability",
        "cadre_id": world.cadres["zhang"],
        "source": "audit",
        "data": FINDING,
    }
    for wrong in ({}, [], ["accountability"], {"accountability": 1}):
        for field in ("process", "cadre_id", "source", "title"):
            response = _open(api, **{**good, field: wrong})
            assert response.status_code == 422, (field, wrong, response.status_code)
            assert field in response.get_json()["errors"], (field, wrong, response.get_json())
        for field in ("facts", "evidence"):
            response = _open(api, **{**good, "data": {**FINDING, field: wrong}})
            assert (
                response.status_code == 422 and f"data.{field}" in response.get_json()["errors"]
            ), (field, wrong)
    for body in ([], "accountability", 1, None, [good]):
        response = api.post("/cases", json=body)
        assert response.status_code == 422 and "process" in response.get_json()["errors"], body
    clarification = {
        "process": "clarification",
        "source": "cadre_request",
        "data": {"report": "反映"},
    }
    for field in ("subject_name", "org_unit"):
        response = _open(
            api, **{**clarification, "subject_name": "王某", "org_unit": "ah-hf", field: {}}
        )
        assert response.status_code == 422 and field in response.get_json()["errors"], field
    assert _open(api, **good).status_code == 201


def test_cadre_outside_jurisdiction_or_unknown_is_404(world: World, login: Any) -> None:
    for user, cadre_id in (
        ("discipline.hf", 9999),
        ("discipline.hf", world.cadres["li"]),
        ("discipline.wh", world.cadres["zhang"]),
    ):
        response = _open(
            login(user), process="accountability", cadre_id=cadre_id, source="audit", data=FINDING
        )
        assert response.status_code == 404, (user, cadre_id)


def test_bad_body_answers_a_field_map(world: World, login: Any, rt: Any) -> None:
    api = login("discipline.hf")
    zhang = world.cadres["zhang"]
    assert set(_open(api).get_json()["errors"]) == {"process"}
    assert set(_open(api, process="appeal", cadre_id=zhang).get_json()["errors"]) == {"process"}
    response = _open(api, process="accountability", cadre_id="x", data=[])
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"cadre_id", "source", "data"}
    cases = (
        ({"source": "rumour", "data": FINDING}, "source"),
        ({"data": FINDING}, "source"),
        ({"source": "audit", "data": {"evidence": "审计报告"}}, "data.facts"),
        ({"source": "audit", "data": {**FINDING, "facts": "   "}}, "data.facts"),
        (
            {"source": "audit", "data": {**FINDING, "investigation_workdays": 300}},
            "data.investigation_workdays",
        ),
        ({"source": "audit", "data": REGISTER}, "data.source"),
        ({"source": "audit", "data": FINDING, "subject_name": "王某"}, "subject_name"),
        ({"source": "audit", "data": FINDING, "title": "a\x00b"}, "title"),
    )
    for body, field in cases:
        response = _open(api, process="accountability", cadre_id=zhang, **body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], (field, response.get_json())
    response = _open(
        api,
        process="rectification",
        cadre_id=zhang,
        source="first_form",
        data={"requirements": "完善审批程序", "deadline": "2026-02-30"},
    )
    assert "data.deadline" in response.get_json()["errors"]
    refused = _open(
        login("zhang"),
        process="clarification",
        subject_name="王某",
        org_unit="ah-hf",
        source="cadre_request",
        data={"report": "反映王某收受好处"},
    )  # the domain's refusal
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["subject_name"]
    with rt.db.reading() as session:
        assert session.execute(select(CaseFile)).first() is None  # nothing stored


def test_rectification_is_opened_by_its_issuing_department(world: World, login: Any) -> None:
    body = {
        "process": "rectification",
        "cadre_id": world.cadres["zhang"],
        "data": {"requirements": "完善专项资金拨付审批程序", "deadline": "2026-06-30"},
    }
    assert _open(login("organization.hf"), **body, source="first_form").status_code == 403
    opened = _open(login("discipline.hf"), **body, source="first_form").get_json()
    assert [t["element"] for t in opened["tasks"]] == ["issue_discipline"] and opened[
        "source"
    ] == "first_form"
    by_org = _open(login("organization.hf"), **body, source="tolerance")
    assert by_org.status_code == 201 and by_org.get_json()["tasks"][0]["element"] == "issue_org"


def test_rectification_with_a_deadline_already_past_is_refused_at_registration(
    world: World, login: Any, rt: Runtime
) -> None:
    body = {
        "process": "rectification",
        "cadre_id": world.cadres["zhang"],
        "source": "first_form",
        "data": {"requirements": "完善专项资金拨付审批程序", "deadline": "2026-03-01"},
    }  # today is 03-02
    refused = _open(login("discipline.hf"), **body)
    assert refused.status_code == 422
    assert "整改期限 2026-03-01 已过" in refused.get_json()["errors"]["data.deadline"][0]
    not_a_date = _open(
        login("discipline.hf"), **{**body, "data": {**body["data"], "deadline": "明年"}}
    )
    assert not_a_date.status_code == 422 and list(not_a_date.get_json()["errors"]) == [
        "data.deadline"
    ]
    with rt.db.reading() as session:
        assert session.execute(select(CaseFile)).first() is None  # nothing stored


def test_clarification_of_a_person_not_on_record_and_on_request(world: World, login: Any) -> None:
    api = login("discipline.hf")
    person = {"process": "clarification", "subject_name": "王某", "org_unit": "ah-hf"}
    named = _open(api, **person, source="found_in_case", data={"report": "反映王某收受好处"})
    assert named.status_code == 422 and "data.related_case_id" in named.get_json()["errors"]
    assert (
        _open(
            api,
            **person,
            source="found_in_case",
            data={"report": "反映王某收受好处", "related_case_id": 4242},
        ).status_code
        == 404
    )
    assert (
        _open(
            api,
            **{**person, "org_unit": "ah-wh"},
            source="unit_request",
            data={"report": "反映王某收受好处"},
        ).status_code
        == 404
    )
    ok = _open(api, **person, source="unit_request", data={"report": "反映王某收受好处"})
    assert ok.status_code == 201 and ok.get_json()["cadre_id"] is None
    found = _open(
        api,
        **person,
        source="found_in_case",
        data={"report": "反映王某收受好处", "related_case_id": ok.get_json()["id"]},
    )
    assert found.status_code == 201, found.get_json()
    unit = login("unit.hf")
    zhang = world.cadres["zhang"]
    assert (
        _open(
            unit,
            process="clarification",
            cadre_id=zhang,
            source="cadre_request",
            data={"report": "反映张三收受好处"},
        ).status_code
        == 403
    )
    requested = _open(
        unit,
        process="clarification",
        cadre_id=zhang,
        source="unit_request",
        data={"report": "反映张三收受好处"},
    )
    assert requested.status_code == 201 and requested.get_json()["source"] == "unit_request"


def test_cadre_applies_for_exemption_as_themself(world: World, login: Any) -> None:
    api = login("zhang")
    application = {"reasons": "属于先行先试中的失误", "facts": "推进园区改革试点中审批流程出现失误"}
    zhang = world.cadres["zhang"]
    assert (
        _open(
            api, process="tolerance_review", cadre_id=zhang, source="unit", data=application
        ).status_code
        == 403
    )
    response = _open(
        api, process="tolerance_review", cadre_id=zhang, source="cadre", data=application
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["number"].startswith("RC-") and body["cadre_id"] == zhang
    assert body["source"] == "application:cadre" and body["tasks"] == []  # 受理 is discipline's
    assert (
        _open(
            api,
            process="tolerance_review",
            cadre_id=world.cadres["li"],
            source="cadre",
            data=application,
        ).status_code
        == 404
    )
    clerk = _open(
        login("organization.hf"), process="tolerance_review", cadre_id=zhang, data=application
    )
    assert "source" in clerk.get_json()["errors"]  # the clerk names the applicant
    assert (
        _open(
            login("organization.hf"),
            process="tolerance_review",
            cadre_id=zhang,
            source="unit",
            data=application,
        ).status_code
        == 201
    )


# --- lists -----------------------------------------------------------------------------------


def test_list_is_scoped_filtered_and_newest_first(world: World, login: Any) -> None:
    first = world.open("accountability", data=REGISTER)
    advance_clock(world.rt, minutes=5)
    second = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    county = world.open("accountability", cadre="li", data=REGISTER)
    body = login("discipline.hf").get("/cases").get_json()
    assert [i["id"] for i in body["items"]] == [second.id, first.id] and body["total"] == 2
    assert login("discipline.wh").get("/cases").get_json()["total"] == 0
    assert login("designer.hf").get("/cases").get_json()["total"] == 0
    overseen = login("supervisor.hf").get("/cases").get_json()["items"]
    assert {i["id"] for i in overseen} == {first.id, second.id, county.id}
    api = login("supervisor.hf")
    assert [i["id"] for i in api.get("/cases?process=clarification").get_json()["items"]] == [
        second.id
    ]
    assert [i["id"] for i in api.get("/cases?org_unit=ah-hf-fd").get_json()["items"]] == [county.id]
    assert [i["id"] for i in api.get(f"/cases?q={first.number}").get_json()["items"]] == [first.id]
    assert {i["id"] for i in api.get("/cases?q=张三").get_json()["items"]} == {first.id, second.id}
    assert api.get(f"/cases?cadre_id={world.cadres['li']}").get_json()["total"] == 1
    paged = api.get("/cases?per_page=2&page=2").get_json()
    assert (paged["total"], len(paged["items"])) == (3, 1)
    bad = api.get("/cases?process=nothing&overdue=maybe")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"process", "overdue"}


def test_cadre_user_sees_only_own_cases(world: World, login: Any) -> None:
    own = world.open("accountability", data=REGISTER)
    world.open("accountability", cadre="li", data=REGISTER)
    items = login("zhang").get("/cases").get_json()["items"]
    assert [i["id"] for i in items] == [own.id]


def test_overdue_cases_are_marked_and_filtered(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    api = login("discipline.hf")
    assert api.get("/cases?overdue=true").get_json()["total"] == 0
    advance_clock(world.rt, days=50)
    api = login("discipline.hf")
    items = api.get("/cases?overdue=true").get_json()["items"]
    assert [i["id"] for i in items] == [case.id] and items[0]["overdue"] is True
    assert api.get("/cases?overdue=false").get_json()["total"] == 0


# --- one case --------------------------------------------------------------------------------


def test_other_units_case_is_404_everywhere(world: World, login: Any) -> None:
    case = world.decided_accountability()
    api = login("discipline.wh")
    assert api.get(f"/cases/{case.id}").status_code == 404
    assert api.get(f"/cases/{case.id}/diagram").status_code == 404
    assert api.post(f"/cases/{case.id}/appeals", json={"grounds": "处理过重"}).status_code == 404
    assert (
        api.post(f"/cases/{case.id}/exemption-applications", json={"reasons": "理由"}).status_code
        == 404
    )
    assert login("discipline.hf").get("/cases/99999").status_code == 404


def test_case_page_shows_tasks_timeline_and_diagram(world: World, login: Any) -> None:
    opened = _accountability(world, login)
    api = login("discipline.hf")
    register = opened["tasks"][0]["id"]
    assert (
        api.post(
            f"/tasks/{register}/complete", json={"data": {"register_note": "同意立案，机密意见"}}
        ).status_code
        == 200
    )
    body = api.get(f"/cases/{opened['id']}").get_json()
    assert {t["element"] for t in body["tasks"]} == {"investigate", "consider_tolerance"}
    investigate = next(t for t in body["tasks"] if t["element"] == "investigate")
    assert investigate["due_at"] and investigate["due_basis"].startswith("立案之日 2026-03-02")
    steps = [(e["action"], e["element"], e["task_name"]) for e in body["timeline"]]
    assert ("task.complete", "register", "立案") in steps
    assert steps.index(("task.complete", "register", "立案")) > 0
    assert body["timeline"][0]["action"] == "instance.start"
    assert any(e["action"] == "case.open" and e["label"] == "登记案件" for e in body["timeline"])
    # of the form data, the timeline carries the step's opinion (审批意见) only
    completed = next(e for e in body["timeline"] if e["action"] == "task.complete")
    assert completed["note"] == "立案意见：同意立案，机密意见"
    assert "register_note" not in json.dumps(body["timeline"], ensure_ascii=False)
    diagram = body["diagram"]
    assert diagram["process_key"] == "accountability" and diagram["version"] == 1
    assert {"start", "check_finding", "register"} <= set(diagram["completed"])
    assert {"investigate", "consider_tolerance"} <= set(diagram["active"])
    assert "register" not in diagram["active"]
    assert (body["cadre"]["name"], body["org_unit_name"], body["comments_count"]) == (
        "张三",
        "合肥市",
        0,
    )
    xml = api.get(f"/cases/{opened['id']}/diagram").get_json()
    assert xml["bpmn_xml"].lstrip().startswith("<?xml") and 'id="register"' in xml["bpmn_xml"]
    assert xml["completed"] == diagram["completed"] and xml["active"] == diagram["active"]


def test_case_page_shows_urges_and_comments_of_its_tasks(world: World, login: Any) -> None:
    opened = _accountability(world, login)
    task_id = opened["tasks"][0]["id"]
    assert (
        login("supervisor.hf")
        .post(f"/tasks/{task_id}/urge", json={"note": "请尽快立案"})
        .status_code
        < 300
    )
    assert (
        login("discipline.hf")
        .post(f"/tasks/{task_id}/comments", json={"body": "线索已核"})
        .status_code
        < 300
    )
    body = login("discipline.hf").get(f"/cases/{opened['id']}").get_json()
    assert [(u["task_name"], u["urged_by"], u["note"]) for u in body["urges"]] == [
        ("立案", "supervisor.hf", "请尽快立案")
    ]
    assert body["comments_count"] == 1
    assert any(e["action"] == "task.urge" and e["label"] == "催办：立案" for e in body["timeline"])


def test_decided_case_shows_its_decision(world: World, login: Any) -> None:
    case = world.decided_accountability()
    body = login("discipline.hf").get(f"/cases/{case.id}").get_json()
    assert (body["status"], body["outcome"], body["outcome_name"]) == (
        "decided",
        "demotion",
        "降职",
    )
    [decision] = body["decisions"]
    assert (decision["kind"], decision["adjustment"], decision["decided_by"]) == (
        "accountability",
        "demotion",
        "committee.hf",
    )
    assert body["received_on"] == decision["served_on"] == "2026-03-02"
    # the cadre reads it as served on them, decided by an organ (tests/api/test_my_cases.py)
    mine = login("zhang").get(f"/cases/{case.id}").get_json()
    assert (mine["status"], mine["status_name"], mine["outcome_name"]) == (
        "served",
        "已送达决定",
        "降职",
    )
    assert [d["decided_by"] for d in mine["decisions"]] == ["合肥市委"]


def test_links_show_only_cases_i_may_see(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    county = world.open("accountability", cadre="li", data=REGISTER, links=[(case.id, "test")])
    assert login("discipline.hf").get(f"/cases/{case.id}").get_json()["links"] == []
    links = login("supervisor.hf").get(f"/cases/{case.id}").get_json()["links"]
    assert [(link["direction"], link["case_id"]) for link in links] == [("to", county.id)]


# --- appeals and exemption applications --------------------------------------------------------


def test_cadre_appeals_within_the_window_and_both_cases_show_the_link(
    world: World, login: Any
) -> None:
    case = world.decided_accountability()
    response = login("zhang").post(f"/cases/{case.id}/appeals", json={"grounds": "降职处理过重"})
    assert response.status_code == 201, response.get_json()
    appeal = response.get_json()
    assert appeal["number"].startswith("SS-") and appeal["process"] == "appeal"
    original = login("discipline.hf").get(f"/cases/{case.id}").get_json()
    assert [(link["kind"], link["case_id"]) for link in original["links"]] == [
        ("appeal", appeal["id"])
    ]
    assert any(
        e["action"] == "case.appeal" and e["note"] == appeal["number"] for e in original["timeline"]
    )
    again = login("zhang").post(f"/cases/{case.id}/appeals", json={"grounds": "再次申诉"})
    assert again.status_code == 422 and "case_id" in again.get_json()["errors"]


def test_late_appeal_is_refused_naming_filed_on(world: World, login: Any) -> None:
    case = world.decided_accountability()
    advance_clock(world.rt, days=40)
    response = login("zhang").post(f"/cases/{case.id}/appeals", json={"grounds": "降职处理过重"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert list(errors) == ["filed_on"] and "2026-04-02" in errors["filed_on"][0]
    clerk = login("organization.hf").post(
        f"/cases/{case.id}/appeals", json={"grounds": "书面申诉", "filed_on": "2026-03-20"}
    )
    assert clerk.status_code == 201, clerk.get_json()


def test_appeal_by_a_role_that_does_not_file_appeals_is_403(world: World, login: Any) -> None:
    case = world.decided_accountability()
    for user in ("unit.hf", "committee.hf", "supervisor.hf"):
        assert (
            login(user).post(f"/cases/{case.id}/appeals", json={"grounds": "理由"}).status_code
            == 403
        )
    assert login("zhang").post(f"/cases/{case.id}/appeals", json={}).get_json()[
        "errors"
    ].keys() == {"grounds"}


def test_exemption_application_opens_a_linked_review(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    assert (
        login("supervisor.hf")
        .post(f"/cases/{case.id}/exemption-applications", json={"reasons": "理由"})
        .status_code
        == 403
    )
    response = login("unit.hf").post(
        f"/cases/{case.id}/exemption-applications",
        json={"reasons": "属于先行先试中的失误，已主动补救"},
    )
    assert response.status_code == 201, response.get_json()
    review = response.get_json()
    assert review["process"] == "tolerance_review" and review["source"] == "application:unit"
    links = login("discipline.hf").get(f"/cases/{case.id}").get_json()["links"]
    assert [(link["kind"], link["case_id"]) for link in links] == [
        ("tolerance_review", review["id"])
    ]
    wrong = login("unit.hf").post(
        f"/cases/{case.id}/exemption-applications", json={"reasons": "理由", "applicant": "cadre"}
    )
    assert wrong.status_code == 403
    clerk = login("organization.hf").post(
        f"/cases/{case.id}/exemption-applications", json={"reasons": "书面申请"}
    )
    assert clerk.status_code == 422 and list(clerk.get_json()["errors"]) == ["applicant"]
    by_cadre = login("zhang").post(
        f"/cases/{case.id}/exemption-applications", json={"reasons": "本人申请"}
    )
    assert by_cadre.status_code == 201


def test_exemption_application_after_the_decision_is_refused(world: World, login: Any) -> None:
    case = world.decided_accountability()
    response = login("zhang").post(
        f"/cases/{case.id}/exemption-applications", json={"reasons": "理由"}
    )
    assert response.status_code == 422 and "case_id" in response.get_json()["errors"]


def test_a_query_argument_error_is_the_same_kind_of_problem_as_a_body_error(
    world: World, login: Any
) -> None:
    api = login("discipline.hf")
    query = api.get("/cases?per_page=many")
    body = api.post("/cases", json={"process": 7})
    for response in (query, body):
        problem = response.get_json()
        assert response.status_code == 422
        assert problem["type"] == "https://cadreflow.local/problems/validation_failed"
        assert problem["code"] == "validation_failed"
    assert "per_page" in query.get_json()["errors"]

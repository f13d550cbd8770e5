"""GET /api/v1/me/cases and a cadre's reads of /cases: the decisions served on them with the
appeal window, their applications, their statuses — and nothing internal (DOMAIN.md §6)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import advance_clock
from tests.support.world import World
from workflows.access import principal_for
from workflows.runtime import Runtime
from workflows.tasks import service as work

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
#: Nothing of these may be in an answer to a cadre: other people's login names, steps of other
#: roles, lanes and role keys, supervision, the diagram's parts.
INTERNAL = (
    "discipline.hf",
    "committee.hf",
    "organization.hf",
    "supervisor.hf",
    "discipline2.hf",
    "责任调查",
    "同步考虑容错情形",
    "妥善安排工作",
    '"discipline"',
    '"committee"',
    '"organization"',
    '"supervisor"',
    "请抓紧调查",
    "investigate",
    "consider_tolerance",
    "arrange_work",
    "已作出决定",
)


def _clean(body: Any) -> None:
    text = json.dumps(body, ensure_ascii=False)
    found = [word for word in INTERNAL if word in text]
    assert found == [], f"internal parts in a cadre's answer: {found}"


def test_my_cases_lists_a_served_decision_with_the_appeal_window(world: World, login: Any) -> None:
    decided = world.decided_accountability()
    world.open("accountability", cadre="li", data=REGISTER)
    response = login("zhang").get("/me/cases")
    assert response.status_code == 200
    home = response.get_json()
    assert (home["cadre_id"], home["cadre_name"]) == (world.cadres["zhang"], "张三")
    assert [(c["number"], c["status"], c["status_name"]) for c in home["cases"]] == [
        (decided.number, "served", "已送达决定")
    ]
    [served] = home["decisions"]
    assert served["case"]["number"] == decided.number
    assert (served["appeal_ends_on"], served["may_appeal"], served["appealed_as"]) == (
        "2026-04-02",
        True,
        None,
    )
    decision = served["decision"]
    assert (decision["outcome"], decision["adjustment"], decision["reason"]) == (
        "adjustment",
        "demotion",
        "对违规拨付负主要领导责任",
    )
    assert (decision["decided_by"], decision["decided_on"], decision["served_on"]) == (
        "合肥市委",
        "2026-03-02",
        "2026-03-02",
    )
    assert decision["recommendation"] is None and decision["departure_reason"] is None
    assert home["applications"] == [] and home["steps"] == [] and home["may_apply"] is True
    _clean(home)


def test_my_cases_is_for_cadres_only(world: World, login: Any) -> None:
    for user in ("discipline.hf", "supervisor.hf", "admin.hf", "designer.hf"):
        refused = login(user).get("/me/cases")
        assert refused.status_code == 403, user
        assert "不是干部本人账号" in refused.get_json()["detail"]


def test_before_it_is_served_the_decision_is_nowhere_for_the_cadre(
    world: World, login: Any
) -> None:
    case = world.undelivered_accountability()
    api = login("zhang")
    home = api.get("/me/cases").get_json()
    assert home["decisions"] == []
    [listed] = home["cases"]
    assert (listed["status"], listed["status_name"], listed["outcome"]) == (
        "in_progress",
        "办理中",
        None,
    )
    detail = api.get(f"/cases/{case.id}").get_json()
    assert (detail["status"], detail["outcome"], detail["outcome_name"]) == (
        "in_progress",
        None,
        None,
    )
    assert detail["decisions"] == [] and detail["received_on"] is None
    assert detail["actions"] == ["add_document"]  # no appeal before 送达
    [row] = api.get("/cases").get_json()["items"]
    assert (row["status"], row["outcome"]) == ("in_progress", None)
    _clean(home)
    _clean(detail)
    # searching by the internal status would tell: refused, naming the field
    refused = api.get("/cases?status=decided&overdue=true")
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"status", "overdue"}
    assert api.post(f"/cases/{case.id}/appeals", json={"grounds": "不服"}).status_code == 422
    clerk = login("discipline.hf").get(f"/cases/{case.id}").get_json()
    assert (clerk["status"], clerk["outcome"]) == ("decided", "demotion")
    assert clerk["decisions"][0]["served_on"] is None


def test_the_case_read_by_its_cadre_has_no_internal_parts(
    world: World, login: Any, rt: Runtime
) -> None:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    investigate = world.task(case, "investigate")
    with rt.db.transaction() as session:
        work.urge(
            session,
            principal=principal_for(session, username="supervisor.hf"),
            task_id=investigate.id,
            note="请抓紧调查",
            clock=rt.clock,
        )
    api = login("zhang")
    body = api.get(f"/cases/{case.id}").get_json()
    assert (body["tasks"], body["timeline"], body["urges"], body["diagram"]) == ([], [], [], None)
    assert body["comments_count"] == 0 and body["opened_by"] == "合肥市纪委监委"
    assert body["next_due_at"] is None and body["overdue"] is False
    assert set(body["actions"]) == {"apply_for_exemption", "add_document"}
    _clean(body)
    assert api.get(f"/cases/{case.id}/diagram").status_code == 404
    assert api.get(f"/tasks/{investigate.id}").status_code == 404
    full = login("discipline.hf").get(f"/cases/{case.id}").get_json()
    assert full["urges"] and full["timeline"] and full["diagram"]


def test_an_appeal_changes_what_the_cadre_reads_only_once_it_is_served(
    world: World, login: Any
) -> None:
    original, appeal = world.accepted_appeal()
    world.complete(
        appeal,
        "review",
        {
            "outcome": "modify",
            "reason": "负重要领导责任，降职过重",
            "new_outcome": "adjustment",
            "new_adjustment": "transfer",
        },
        "discipline2.hf",
    )
    api = login("zhang")
    before = api.get("/me/cases").get_json()
    assert [d["decision"]["adjustment"] for d in before["decisions"]] == ["demotion"]
    assert before["decisions"][0]["decision"]["effective"] == "effective"
    assert before["decisions"][0]["appealed_as"] == appeal.number
    [application] = before["applications"]
    assert (application["kind_name"], application["against"]) == ("申诉", original.number)
    assert (application["case"]["status"], application["case"]["outcome"]) == (
        "in_progress",
        None,
    )
    shown = {c["number"]: c for c in before["cases"]}
    assert shown[original.number]["outcome_name"] == "降职"
    today = world.today().isoformat()
    world.complete(
        appeal,
        "notify",
        {"notified_on": today, "unit_notified_on": today, "delivery": "in_person"},
        "organization.hf",
    )
    after = api.get("/me/cases").get_json()
    by_kind = {(d["case"]["number"], d["decision"]["kind"]): d for d in after["decisions"]}
    assert by_kind[(appeal.number, "appeal")]["decision"]["outcome"] == "modify"
    changed = [
        d["decision"]
        for d in after["decisions"]
        if d["case"]["number"] == original.number and d["decision"]["corrects_id"]
    ]
    assert [d["adjustment"] for d in changed] == ["transfer"]
    olds = [
        d["decision"]
        for d in after["decisions"]
        if d["case"]["number"] == original.number and not d["decision"]["corrects_id"]
    ]
    assert [d["effective"] for d in olds] == ["modified"]
    shown = {c["number"]: c for c in after["cases"]}
    assert shown[original.number]["outcome_name"] == "调离岗位"
    assert (shown[appeal.number]["status"], shown[appeal.number]["outcome_name"]) == (
        "closed",
        "变更",
    )
    _clean(after)


def test_after_the_window_no_appeal_is_offered(world: World, login: Any, rt: Runtime) -> None:
    world.decided_accountability()
    advance_clock(rt, days=40)
    [served] = login("zhang").get("/me/cases").get_json()["decisions"]
    assert (served["appeal_ends_on"], served["may_appeal"]) == ("2026-04-02", False)


def test_the_cadre_record_shows_a_ban_only_once_its_decision_is_served(
    world: World, login: Any
) -> None:
    case = world.undelivered_accountability()
    cadre_id = world.cadres["zhang"]
    api = login("zhang")
    assert api.get(f"/cadres/{cadre_id}").get_json()["bans"] == []
    eligible = api.get(f"/cadres/{cadre_id}/promotion-eligibility?on=2026-06-01").get_json()
    assert eligible["eligible"] is True
    official = login("organization.hf").get(f"/cadres/{cadre_id}").get_json()
    assert [b["adjustment"] for b in official["bans"]] == ["demotion"]
    world.complete(
        case,
        "notify",
        {"received_on": world.today().isoformat(), "delivery": "in_person"},
        "organization.hf",
    )
    [ban] = api.get(f"/cadres/{cadre_id}").get_json()["bans"]
    assert (ban["adjustment"], ban["ends_on"], ban["in_force"]) == ("demotion", "2028-03-02", True)
    barred = api.get(f"/cadres/{cadre_id}/promotion-eligibility?on=2026-06-01").get_json()
    assert (barred["eligible"], barred["until"], barred["because"]) == (
        False,
        "2028-03-02",
        [case.number],
    )


def test_a_closed_clarification_shows_its_finding(world: World, login: Any) -> None:
    api = login("zhang")
    asked = api.post(
        "/cases",
        json={
            "process": "clarification",
            "cadre_id": world.cadres["zhang"],
            "source": "cadre_request",
            "data": {"report": "网上反映本人收受好处"},
        },
    )
    assert asked.status_code == 201, asked.get_json()
    case = world.case(asked.get_json()["id"])
    assert api.get("/me/cases").get_json()["decisions"] == []  # open: nothing to show yet
    world.complete(
        case,
        "verify",
        {
            "finding": "true",
            "reason": "经核实，所反映的问题基本属实",
            "verified_on": world.today().isoformat(),
        },
        "discipline.hf",
    )
    home = api.get("/me/cases").get_json()
    [served] = home["decisions"]
    assert (served["decision"]["outcome"], served["case"]["status"]) == ("true", "closed")
    assert served["decision"]["decided_by"] == "合肥市纪委监委"
    [application] = home["applications"]
    assert application["kind_name"] == "澄清正名申请"


def test_the_case_documents_read_by_its_cadre_name_organs_not_people_nor_steps(
    world: World, login: Any
) -> None:
    from tests.api.test_documents import _upload

    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    investigate = world.task(case, "investigate")
    clerk = login("discipline.hf")
    added = _upload(clerk, case.id, title="调查笔录", task_id=investigate.id)
    assert added.status_code == 201, added.get_json()
    assert (
        clerk.post(
            f"/documents/{added.get_json()['id']}/withdraw", json={"reason": "重复上传"}
        ).status_code
        == 200
    )
    cadre = login("zhang")
    mine = _upload(cadre, case.id, filename="情况说明.pdf")
    assert mine.status_code == 201, mine.get_json()

    listed = cadre.get(f"/cases/{case.id}/documents").get_json()["items"]
    by_title = {item["filename"]: item for item in listed}
    theirs = by_title["立案材料（审计报告）.pdf"]
    assert (theirs["uploaded_by"], theirs["uploaded_by_name"], theirs["task_name"]) == (
        "",
        "合肥市纪委监委",
        None,
    )
    assert (
        theirs["withdrawal"]["withdrawn_by"] == "" and theirs["withdrawal"]["reason"] == "重复上传"
    )
    own = by_title["情况说明.pdf"]
    assert (own["uploaded_by"], own["uploaded_by_name"]) == ("zhang", "本人")
    _clean(listed)
    _clean(cadre.get(f"/documents/{theirs['id']}").get_json())
    seen_by_clerk = clerk.get(f"/documents/{theirs['id']}").get_json()
    assert (
        seen_by_clerk["uploaded_by"] == "discipline.hf" and seen_by_clerk["task_name"] == "责任调查"
    )

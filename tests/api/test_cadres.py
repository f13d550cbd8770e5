"""Cadre records, promotion eligibility and the blacklist over HTTP."""

from __future__ import annotations

from typing import Any

from tests.domain.cases.test_tolerance import analysis
from tests.support.world import World
from workflows.cases import blacklist

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def test_cadre_list_is_my_jurisdiction(world: World, login: Any) -> None:
    names = {
        user: [c["name"] for c in login(user).get("/cadres").get_json()["items"]]
        for user in ("discipline.hf", "discipline.wh", "supervisor.hf", "designer.hf", "zhang")
    }
    assert names == {
        "discipline.hf": ["张三"],
        "discipline.wh": [],
        "supervisor.hf": ["张三", "李四"],
        "designer.hf": [],
        "zhang": ["张三"],
    }
    found = login("supervisor.hf").get("/cadres?q=镇党委").get_json()
    assert [c["name"] for c in found["items"]] == ["李四"] and found["items"][0][
        "org_unit_name"
    ] == "肥东县"
    assert "per_page" in login("supervisor.hf").get("/cadres?per_page=0").get_json()["errors"]


def test_cadre_record_is_visible_in_jurisdiction_and_to_the_cadre(world: World, login: Any) -> None:
    zhang, li = world.cadres["zhang"], world.cadres["li"]
    for user, cadre_id, status in (
        ("discipline.hf", zhang, 200),
        ("zhang", zhang, 200),
        ("supervisor.hf", li, 200),
        ("discipline.wh", zhang, 404),
        ("designer.hf", zhang, 404),
        ("zhang", li, 404),
        ("discipline.hf", li, 404),
        ("discipline.hf", 9999, 404),
    ):
        assert login(user).get(f"/cadres/{cadre_id}").status_code == status, (user, cadre_id)
        assert login(user).get(f"/cadres/{cadre_id}/promotion-eligibility").status_code == status


def test_record_shows_bans_and_cases_and_eligibility_answers_until_when(
    world: World, login: Any
) -> None:
    case = world.decided_accountability("demotion")
    zhang = world.cadres["zhang"]
    api = login("organization.hf")
    record = api.get(f"/cadres/{zhang}").get_json()
    assert (record["name"], record["post"], record["org_unit"]) == (
        "张三",
        "合肥市某局局长",
        "ah-hf",
    )
    [ban] = record["bans"]
    assert (
        ban["adjustment_name"],
        ban["starts_on"],
        ban["ends_on"],
        ban["in_force"],
        ban["case_number"],
    ) == ("降职", "2026-03-02", "2028-03-02", True, case.number)
    assert [c["number"] for c in record["cases"]] == [case.number]
    answer = api.get(f"/cadres/{zhang}/promotion-eligibility").get_json()
    assert (answer["eligible"], answer["until"], answer["because"]) == (
        False,
        "2028-03-02",
        [case.number],
    )
    assert "2028-03-02" in answer["message"] and case.number in answer["message"]
    later = api.get(f"/cadres/{zhang}/promotion-eligibility?on=2028-03-02").get_json()
    assert (later["eligible"], later["until"], later["because"], later["on"]) == (
        True,
        None,
        [],
        "2028-03-02",
    )
    bad = api.get(f"/cadres/{zhang}/promotion-eligibility?on=someday")
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["on"]


def test_record_notes_the_tolerance_granted_over_http(world: World, login: Any) -> None:
    applied = login("zhang").post(
        "/cases",
        json={
            "process": "tolerance_review",
            "cadre_id": world.cadres["zhang"],
            "source": "cadre",
            "data": {
                "reasons": "属于先行先试中的失误，已主动补救",
                "facts": "推进园区改革试点中审批流程出现失误",
            },
        },
    )
    assert applied.status_code == 201, applied.get_json()
    case = world.case(applied.get_json()["id"])
    world.complete(
        case,
        "accept",
        {"acceptance": "accept", "verification": "skip", "skip_reason": "事实已由申请材料查清"},
        "discipline.hf",
    )
    world.complete(case, "analyse", analysis(), "discipline.hf")
    world.complete(
        case,
        "determine",
        {"opinion": "exempt", "opinion_reason": "综合六个要件，予以免责"},
        "discipline.hf",
    )
    world.complete(
        case,
        "approve",
        {
            "approval": "approve",
            "rectification_requirements": "完善审批程序",
            "rectification_deadline": "2026-06-30",
        },
        "committee.hf",
    )
    record = f"/cadres/{world.cadres['zhang']}"
    notes = login("organization.hf").get(record).get_json()["tolerance_notes"]
    assert [(n["case_number"], n["outcome_name"], n["final"]) for n in notes] == [
        (case.number, "免责", False)
    ]
    # the cadre reads it once the determination is served on them (DOMAIN.md §6)
    assert login("zhang").get(record).get_json()["tolerance_notes"] == []
    world.complete(case, "notify", {"received_on": world.today().isoformat()}, "discipline.hf")
    assert login("zhang").get(record).get_json()["tolerance_notes"] == notes


def _listed(world: World, name: str = "王五") -> tuple[int, int]:
    basis = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    with world.rt.db.transaction() as session:
        entry = blacklist.add_entry(
            session,
            person_name=name,
            basis_case_id=basis.id,
            reviewer="discipline.hf",
            reason="捏造事实、虚假告发干部",
            entered_on=world.today(),
            clock=world.rt.clock,
        )
        return basis.id, entry.id


def test_blacklist_is_for_its_readers_within_jurisdiction(world: World, login: Any) -> None:
    basis_id, entry_id = _listed(world)
    body = login("discipline.hf").get("/blacklist").get_json()
    [entry] = body["items"]
    assert (
        entry["id"],
        entry["person_name"],
        entry["basis_case_id"],
        entry["reviewer"],
        entry["removed"],
    ) == (entry_id, "王五", basis_id, "discipline.hf", False)
    assert entry["basis_case_number"].startswith("CQ-") and entry["entered_on"] == "2026-03-02"
    for user, total in (
        ("organization.hf", 1),
        ("supervisor.hf", 1),
        ("admin.hf", 1),
        ("discipline.wh", 0),
    ):
        assert login(user).get("/blacklist").get_json()["total"] == total, user
    for user in ("unit.hf", "committee.hf", "functional.hf", "designer.hf", "zhang"):
        assert login(user).get("/blacklist").status_code == 403, user


def test_blacklist_shows_removals_and_filters_current(world: World, login: Any) -> None:
    basis_id, entry_id = _listed(world)
    _listed(world, "赵七")
    with world.rt.db.transaction() as session:
        blacklist.add_entry(
            session,
            person_name="",
            basis_case_id=basis_id,
            reviewer="discipline.hf",
            reason="经复查不属诬告",
            entered_on=world.today(),
            clock=world.rt.clock,
            removes_entry_id=entry_id,
        )
    api = login("discipline.hf")
    items = api.get("/blacklist").get_json()["items"]
    assert [(i["person_name"], i["removes_entry_id"] is not None, i["removed"]) for i in items] == [
        ("王五", True, False),
        ("赵七", False, False),
        ("王五", False, True),
    ]
    assert (
        items[2]["removed_by_entry_id"] == items[0]["id"] and items[2]["removed_on"] == "2026-03-02"
    )
    assert [i["person_name"] for i in api.get("/blacklist?current=true").get_json()["items"]] == [
        "赵七"
    ]
    assert [i["person_name"] for i in api.get("/blacklist?q=赵").get_json()["items"]] == ["赵七"]

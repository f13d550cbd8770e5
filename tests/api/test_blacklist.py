"""The blacklist over HTTP: one entry with its chain, corrections (更正) by organization clerks
of the basis case's unit, refusals that name the field and store nothing, and entries that
no method changes or deletes (405)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.world import World
from workflows.cases import blacklist

LISTING = "捏造事实、虚假告发干部"
CORRECTION = {
    "person_name": "王武",
    "reason": "姓名录入有误，依据案件材料更正",
    "reviewer": "discipline.hf",
}


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
            reason=LISTING,
            entered_on=world.today(),
            clock=world.rt.clock,
        )
        return basis.id, entry.id


def _register(login: Any) -> list[dict[str, Any]]:
    body = login("discipline.hf").get("/blacklist").get_json()
    return list(body["items"])


def test_an_organization_clerk_corrects_an_entry_and_the_original_stays_readable(
    world: World, login: Any
) -> None:
    basis_id, entry_id = _listed(world)
    clerk = login("organization.hf")
    offered = clerk.get(f"/blacklist/{entry_id}").get_json()
    assert offered["may_correct"] is True and offered["status"] == "in_force"
    assert {
        "username": "discipline.hf",
        "label": "discipline hf（合肥市·纪检监察机关）",
    } in offered["reviewers"]
    assert "organization.hf" not in [r["username"] for r in offered["reviewers"]]
    response = clerk.post(f"/blacklist/{entry_id}/corrections", json=CORRECTION)
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert (
        new["person_name"],
        new["corrects_entry_id"],
        new["correction_reason"],
        new["reviewer"],
    ) == ("王武", entry_id, CORRECTION["reason"], "discipline.hf")
    assert (new["reason"], new["basis_case_id"], new["status"], new["reviewer_name"]) == (
        LISTING,
        basis_id,
        "in_force",
        "discipline hf（合肥市·纪检监察机关）",
    )
    old = clerk.get(f"/blacklist/{entry_id}").get_json()
    assert (
        old["person_name"],
        old["reason"],
        old["status"],
        old["corrected"],
        old["may_correct"],
    ) == ("王五", LISTING, "corrected", True, False)
    assert (old["corrected_by_entry_id"], old["corrected_because"]) == (
        new["id"],
        CORRECTION["reason"],
    )
    assert [h["id"] for h in old["history"]] == [entry_id, new["id"]] and old["reviewers"] == []
    assert [(i["id"], i["status"]) for i in _register(login)] == [
        (new["id"], "in_force"),
        (entry_id, "corrected"),
    ]
    current = login("discipline.hf").get("/blacklist?current=true").get_json()["items"]
    assert [i["id"] for i in current] == [new["id"]]
    gone = login("discipline.hf").get("/blacklist?current=false").get_json()["items"]
    assert [i["id"] for i in gone] == [entry_id]


def test_a_correction_is_on_the_basis_cases_timeline(world: World, login: Any) -> None:
    basis_id, entry_id = _listed(world)
    assert (
        login("organization.hf")
        .post(f"/blacklist/{entry_id}/corrections", json=CORRECTION)
        .status_code
        == 201
    )
    timeline = login("discipline.hf").get(f"/cases/{basis_id}").get_json()["timeline"]
    assert [
        (e["label"], e["actor"], e["role"]) for e in timeline if e["action"] == "blacklist.correct"
    ] == [("更正失信黑名单条目", "organization.hf", "organization")]


def test_a_correction_may_be_corrected_but_a_corrected_entry_may_not(
    world: World, login: Any
) -> None:
    _basis, entry_id = _listed(world)
    clerk = login("organization.hf")
    first = clerk.post(f"/blacklist/{entry_id}/corrections", json=CORRECTION).get_json()["id"]
    again = clerk.post(
        f"/blacklist/{entry_id}/corrections", json={**CORRECTION, "person_name": "王午"}
    )
    assert again.status_code == 422 and list(again.get_json()["errors"]) == ["entry_id"]
    assert f"只能更正现行的第 {first} 条" in again.get_json()["errors"]["entry_id"][0]
    chained = clerk.post(
        f"/blacklist/{first}/corrections",
        json={"entered_on": "2026-02-27", "reason": "列入日期有误", "reviewer": "discipline2.hf"},
    )
    assert chained.status_code == 201, chained.get_json()
    assert (chained.get_json()["corrects_entry_id"], chained.get_json()["entered_on"]) == (
        first,
        "2026-02-27",
    )
    assert len(_register(login)) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"person_name": "王武", "reviewer": "discipline.hf"}, "reason"),
        ({"person_name": "王武", "reason": "姓名有误"}, "reviewer"),
        ({**CORRECTION, "reason": "   "}, "reason"),
        ({**CORRECTION, "reviewer": "organization.hf"}, "reviewer"),
        ({**CORRECTION, "reviewer": "committee.hf"}, "reviewer"),
        ({**CORRECTION, "person_name": ""}, "person_name"),
        ({**CORRECTION, "entered_on": "2099-01-01"}, "entered_on"),
        ({**CORRECTION, "basis_case_id": 999}, "basis_case_id"),
        ({**CORRECTION, "person_name": "王五"}, "(body)"),
        ({**CORRECTION, "id": 7}, "id"),
    ],
    ids=[
        "no-reason",
        "no-reviewer",
        "blank-reason",
        "self-review",
        "committee-review",
        "blank-name",
        "future-date",
        "unknown-basis",
        "no-change",
        "unknown-field",
    ],
)
def test_bad_input_is_refused_naming_the_field(
    world: World, login: Any, body: dict[str, Any], field: str
) -> None:
    _basis, entry_id = _listed(world)
    response = login("organization.hf").post(f"/blacklist/{entry_id}/corrections", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == [field]
    assert [(i["id"], i["status"]) for i in _register(login)] == [(entry_id, "in_force")]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("discipline.hf", 403),
        ("supervisor.hf", 403),
        ("admin.hf", 403),
        ("committee.hf", 403),
        ("zhang", 403),
        ("organization.wh", 404),
    ],
)
def test_only_organization_clerks_of_the_unit_correct(
    world: World, login: Any, user: str, status: int
) -> None:
    _basis, entry_id = _listed(world)
    response = login(user).post(
        f"/blacklist/{entry_id}/corrections", json={**CORRECTION, "reviewer": "discipline2.hf"}
    )
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert [(i["id"], i["status"]) for i in _register(login)] == [(entry_id, "in_force")]


def test_an_unknown_entry_is_not_found(world: World, login: Any) -> None:
    _listed(world)
    for entry_id in (999, 2**40):
        assert (
            login("organization.hf")
            .post(f"/blacklist/{entry_id}/corrections", json=CORRECTION)
            .status_code
            == 404
        )
        assert login("discipline.hf").get(f"/blacklist/{entry_id}").status_code == 404
    assert login("discipline.wh").get("/blacklist/1").status_code == 404
    assert login("unit.hf").get("/blacklist/1").status_code == 403


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_no_method_changes_or_deletes_an_entry(world: World, login: Any, method: str) -> None:
    _basis, entry_id = _listed(world)
    api = login("organization.hf")
    for path in (f"/blacklist/{entry_id}", f"/blacklist/{entry_id}/corrections"):
        response = api.client.open(
            f"/api/v1{path}",
            method=method,
            json={"person_name": "王武"},
            headers={"X-CSRF-Token": api.csrf},
        )
        assert response.status_code == 405, (path, response.status_code)
        problem = response.get_json()
        assert response.mimetype == "application/problem+json"
        assert (problem["status"], problem["code"]) == (405, "method_not_allowed")
    [entry] = _register(login)
    assert (entry["person_name"], entry["status"]) == ("王五", "in_force")

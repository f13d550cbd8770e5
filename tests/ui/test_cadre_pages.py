"""干部档案 and 失信黑名单 pages over the test client: who sees which record, promotion
eligibility on a day (and a bad day), bans with their basis case, the blacklist's readers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.world import World
from workflows.cases import blacklist


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_cadre_list_is_the_jurisdiction_and_searchable(logged_in: Any, world: World) -> None:
    client, _csrf = logged_in("organization.hf")
    html = client.get("/cadres").get_data(as_text=True)
    assert "张三" in html and f'href="/cadres/{world.cadres["zhang"]}"' in html
    other, _ = logged_in("organization.wh")
    assert "张三" not in other.get("/cadres").get_data(as_text=True)
    found = client.get("/cadres?q=局长").get_data(as_text=True)
    assert "张三" in found
    assert "没有符合条件的干部" in client.get("/cadres?q=不存在的人").get_data(as_text=True)


def test_a_cadre_sees_their_own_record_and_no_other(logged_in: Any, world: World) -> None:
    world.decided_accountability(adjustment="transfer")
    client, _csrf = logged_in("zhang")
    text = _text(client.get("/cadres").get_data(as_text=True))
    assert "张三" in text and "调离岗位" in text and "2027-03-02" in text  # 1 year after a transfer
    assert "干部档案 ›" not in text  # no list to go back to
    others = [cadre_id for key, cadre_id in world.cadres.items() if key != "zhang"]
    assert client.get(f"/cadres/{others[0]}").status_code == 404


def test_record_shows_the_ban_its_case_and_eligibility_on_a_day(
    logged_in: Any, world: World
) -> None:
    case = world.decided_accountability(adjustment="demotion")  # decided 2026-03-02: 2 years (§6)
    client, _csrf = logged_in("organization.hf")
    html = client.get(f"/cadres/{world.cadres['zhang']}").get_data(as_text=True)
    text = _text(html)
    assert "不得提拔" in text and "2028-03-02" in text and case.number in text
    assert "降职" in text and "影响期内" in text
    assert f'href="/cases/{case.id}"' in html
    later = _text(
        client.get(f"/cadres/{world.cadres['zhang']}?on=2028-03-02").get_data(as_text=True)
    )
    assert "可以提拔" in later and "不受提拔限制" in later


def test_a_day_that_is_not_a_date_is_named_beside_the_field(logged_in: Any, world: World) -> None:
    client, _csrf = logged_in("organization.hf")
    response = client.get(f"/cadres/{world.cadres['zhang']}?on=明年")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="eligibility-on-error"' in html and "日期格式不对，应为 YYYY-MM-DD" in html
    assert 'value="明年"' in html  # what was typed is kept


@pytest.mark.parametrize(
    ("username", "status"),
    [("designer.hf", 404), ("admin.hf", 200), ("supervisor.hf", 200), ("discipline.wh", 404)],
)
def test_who_finds_a_record_is_the_apis_policy(
    logged_in: Any, world: World, username: str, status: int
) -> None:
    client, _csrf = logged_in(username)
    assert client.get(f"/cadres/{world.cadres['zhang']}").status_code == status


def _listed(world: World, name: str) -> int:
    basis = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    with world.rt.db.transaction() as session:
        blacklist.add_entry(
            session,
            person_name=name,
            basis_case_id=basis.id,
            reviewer="discipline.hf",
            reason="捏造事实、虚假告发干部",
            entered_on=world.today(),
            clock=world.rt.clock,
        )
    return basis.id


def test_blacklist_page_for_its_readers_with_filters(logged_in: Any, world: World) -> None:
    basis_id = _listed(world, "王五")
    _listed(world, "赵七")
    client, _csrf = logged_in("discipline.hf")
    html = client.get("/blacklist").get_data(as_text=True)
    assert "王五" in html and "赵七" in html and f'href="/cases/{basis_id}"' in html
    only = client.get("/blacklist?q=赵").get_data(as_text=True)
    assert "赵七" in only and "王五" not in only
    assert "失信黑名单" in client.get("/cadres").get_data(as_text=True)  # the link to it
    for username in ("unit.hf", "committee.hf", "zhang"):
        other, _ = logged_in(username)
        assert other.get("/blacklist").status_code == 403, username
        assert 'href="/blacklist"' not in other.get("/cadres", follow_redirects=True).get_data(
            as_text=True
        )

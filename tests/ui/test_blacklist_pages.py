"""失信黑名单 pages: the 更正 action for organization clerks of the unit, the correction form
(CSRF, Chinese labels, each refusal beside its field, nothing stored), and the register
showing a corrected entry struck through, by which entry and why, still readable."""

from __future__ import annotations

import re
from typing import Any

from tests.support.world import World
from workflows.cases import blacklist
from workflows.cases.models import CaseFile

LISTING = "捏造事实、虚假告发干部"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _listed(world: World, name: str = "王五") -> tuple[CaseFile, int]:
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
        return basis, entry.id


def _form(basis: CaseFile, csrf: str, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "person_name": "王武",
        "basis_case_number": basis.number,
        "entered_on": "2026-03-02",
        "listing_reason": LISTING,
        "reason": "姓名录入有误",
        "reviewer": "discipline.hf",
        **changes,
    }


def _entries(world: World) -> int:
    with world.rt.db.reading() as session:
        return len(blacklist.register(session))


def test_the_correct_action_is_offered_to_organization_clerks_only(
    logged_in: Any, world: World
) -> None:
    _basis, entry_id = _listed(world)
    clerk, _csrf = logged_in("organization.hf")
    register = clerk.get("/blacklist").get_data(as_text=True)
    assert f'href="/blacklist/{entry_id}#correct"' in register and ">更正<" in register
    page = clerk.get(f"/blacklist/{entry_id}").get_data(as_text=True)
    assert 'name="csrf_token"' in page and f'action="/blacklist/{entry_id}/corrections"' in page
    for label in ("姓名", "依据案件编号", "列入日期", "列入理由", "更正理由", "审核人", "提交更正"):
        assert label in page, label
    assert '<option value="discipline.hf">discipline hf（合肥市·纪检监察机关）</option>' in page
    assert 'value="organization.hf"' not in page  # never oneself
    reader, _ = logged_in("discipline.hf")
    assert "#correct" not in reader.get("/blacklist").get_data(as_text=True)
    read_only = reader.get(f"/blacklist/{entry_id}")
    assert read_only.status_code == 200 and "提交更正" not in read_only.get_data(as_text=True)


def test_a_correction_from_the_page_marks_the_original_and_links_both(
    logged_in: Any, world: World
) -> None:
    basis, entry_id = _listed(world)
    clerk, csrf = logged_in("organization.hf")
    response = clerk.post(f"/blacklist/{entry_id}/corrections", data=_form(basis, csrf))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert new_id != entry_id and _entries(world) == 2
    landing = _text(clerk.get(response.headers["Location"]).get_data(as_text=True))
    assert f"已更正第 {entry_id} 条，更正后的条目为第 {new_id} 条" in landing and "王武" in landing
    html = clerk.get("/blacklist").get_data(as_text=True)
    row = html[html.index(f'id="entry-{entry_id}"') :]
    row = row[: row.index("</tr>")]
    assert "<del>王五</del>" in row and "已更正" in row and "姓名录入有误" in row
    assert f'href="/blacklist/{new_id}"' in row and f"由第 {new_id} 条更正" in row
    original = _text(clerk.get(f"/blacklist/{entry_id}").get_data(as_text=True))
    assert (
        "本条已被更正，原登记内容保留如下" in original
        and "王五" in original
        and LISTING in original
    )
    assert "提交更正" not in original  # only the entry in force is corrected
    english = clerk.get(f"/blacklist/{entry_id}?lang=en").get_data(as_text=True)
    assert "Corrected" in english


def test_a_refused_form_names_each_field_in_chinese_and_stores_nothing(
    logged_in: Any, world: World
) -> None:
    basis, entry_id = _listed(world)
    clerk, csrf = logged_in("organization.hf")
    response = clerk.post(
        f"/blacklist/{entry_id}/corrections", data=_form(basis, csrf, reason=" ", reviewer="")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="reason-error"' in html and "请填写更正理由" in html
    assert 'id="reviewer-error"' in html and "请选择审核人" in html
    assert 'value="王武"' in html  # what was entered is kept
    for changes, field, words in (
        ({"basis_case_number": "CQ-2099-000009"}, "basis_case_number", "没有编号为"),
        ({"entered_on": "2099-01-01"}, "entered_on", "晚于今日"),
        ({"reviewer": "committee.hf"}, "reviewer", "审核人须为合肥市的"),
        ({"person_name": ""}, "person_name", "不能为空"),
    ):
        refused = clerk.post(
            f"/blacklist/{entry_id}/corrections", data=_form(basis, csrf, **changes)
        )
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and f'id="{field}-error"' in page and words in page, field
    same = clerk.post(
        f"/blacklist/{entry_id}/corrections", data=_form(basis, csrf, person_name="王五")
    )
    assert same.status_code == 422 and "更正须至少改正一项" in same.get_data(as_text=True)
    assert _entries(world) == 1


def test_a_form_without_its_token_or_from_the_wrong_desk_is_refused(
    logged_in: Any, world: World
) -> None:
    basis, entry_id = _listed(world)
    clerk, _csrf = logged_in("organization.hf")
    assert (
        clerk.post(f"/blacklist/{entry_id}/corrections", data=_form(basis, "forged")).status_code
        == 403
    )
    for user, status in (("discipline.hf", 403), ("organization.wh", 404)):
        other, csrf = logged_in(user)
        assert (
            other.post(f"/blacklist/{entry_id}/corrections", data=_form(basis, csrf)).status_code
            == status
        ), user
    assert logged_in("organization.wh")[0].get(f"/blacklist/{entry_id}").status_code == 404
    assert _entries(world) == 1

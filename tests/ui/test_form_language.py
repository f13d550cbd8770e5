"""A task's form in the page's language: its title, help and option labels in English on
English pages (the catalog), as written on Chinese ones; the posted values stay the codes; the
审批记录 names the decision in the page's language."""

from __future__ import annotations

import re
from typing import Any

from tests.support.world import World


def test_the_form_follows_the_page_language(logged_in: Any, world: World) -> None:
    case = world.awaiting_decision()
    task = world.task(case, "decide")
    client, _csrf = logged_in("committee.hf")
    english = client.get(f"/tasks/{task.id}?lang=en").get_data(as_text=True)
    assert "Kind of organizational adjustment" in english
    assert 'value="demotion"' in english and "Demotion</" in english  # the code, its label
    assert "Reasons for the decision" in english and "调离岗位" not in english
    chinese = client.get(f"/tasks/{task.id}?lang=zh-CN").get_data(as_text=True)
    assert "组织调整方式" in chinese and "调离岗位" in chinese
    assert "Demotion" not in chinese


def test_an_english_page_words_the_forms_problems_in_english(logged_in: Any, world: World) -> None:
    case = world.awaiting_decision()
    task = world.task(case, "decide")
    client, csrf = logged_in("committee.hf")
    refused = client.post(
        f"/tasks/{task.id}?lang=en",
        data={"csrf_token": csrf, "outcome": "adjustment", "reason": "情节较重"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Required when “Decision: Organizational adjustment” is chosen" in html


def test_the_approval_record_names_the_choice_in_the_page_language(
    logged_in: Any, world: World
) -> None:
    case = world.awaiting_decision()
    today = world.today().isoformat()
    world.complete(
        case,
        "decide",
        {
            "outcome": "adjustment",
            "adjustment": "demotion",
            "reason": "情节较重",
            "decided_on": today,
        },
        "committee.hf",
    )
    client, _csrf = logged_in("committee.hf")
    english = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    record = english.split('id="approvals"', 1)[1].split("</section>", 1)[0]
    assert "Demotion; Organizational adjustment; Reasons for the decision: 情节较重" in _text(
        record
    )
    assert '<span translate="no">情节较重</span>' in record  # what was typed is data
    chinese = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    record = chinese.split('id="approvals"', 1)[1].split("</section>", 1)[0]
    assert "降职；组织调整；决定理由：情节较重" in _text(record)


def _text(html: str) -> str:
    """What a reader sees of a piece of a page: its text without the tags."""
    return re.sub(r"<[^>]+>", "", html)

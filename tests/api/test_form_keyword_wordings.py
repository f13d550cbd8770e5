"""Every JSON Schema keyword a form may use is worded for people over HTTP: in Chinese by
default, in English with `Accept-Language: en`, never in the validator library's words; the
detail names each field by its title (translated where the catalog has it)."""

from __future__ import annotations

import copy
from typing import Any

from tests.api.test_forms import REGISTER, SCHEMA, STEM, UISCHEMA, app, save  # noqa: F401
from tests.support.world import World

#: Fields each breaking one keyword, with the data that breaks it.
FIELDS: dict[str, tuple[dict[str, Any], Any]] = {
    "doc_no": ({"type": "string", "title": "文号", "pattern": "^[A-Z]{2}[0-9]+$"}, "abc"),
    "amount": ({"type": "number", "title": "金额", "exclusiveMinimum": 0}, 0),
    "ratio": ({"type": "number", "title": "比例", "exclusiveMaximum": 1}, 1),
    "copies": ({"type": "integer", "title": "份数", "multipleOf": 2}, 3),
    "banned": ({"type": "string", "title": "禁填", "not": {"const": "x"}}, "x"),
    "tags": (
        {"type": "array", "title": "标签", "items": {"type": "string"}, "uniqueItems": True},
        ["甲", "甲"],
    ),
    "level": ({"type": "string", "title": "级别", "const": "county"}, "city"),
    "contact": ({"type": "object", "title": "联系方式", "minProperties": 1}, {}),
    "notes": ({"type": "object", "title": "附注", "maxProperties": 1}, {"a": "1", "b": "2"}),
    "mail": ({"type": "string", "title": "电子邮箱", "format": "email"}, "no-at-sign"),
}
CHINESE = {
    "doc_no": "格式不符合要求（应符合规则 ^[A-Z]{2}[0-9]+$）",
    "amount": "应大于 0",
    "ratio": "应小于 1",
    "copies": "应为 2 的整数倍",
    "banned": "不能为「x」",
    "tags": "各项不能重复，请删去重复的项",
    "level": "应为「county」",
    "contact": "至少填写 1 个字段",
    "notes": "最多填写 1 个字段",
    "mail": "请填写有效的电子邮件地址",
}
ENGLISH = {
    "doc_no": "Not in the required form (must match the pattern ^[A-Z]{2}[0-9]+$)",
    "amount": "Must be more than 0",
    "ratio": "Must be less than 1",
    "copies": "Must be a multiple of 2",
    "banned": "Cannot be “x”",
    "tags": "Items may not repeat: remove the duplicates",
    "level": "Must be “county”",
    "contact": "Fill in at least 1 fields",
    "notes": "Fill in at most 1 fields",
    "mail": "Enter a valid email address",
}


def test_each_keyword_is_worded_in_chinese_and_in_english(world: World, login: Any) -> None:
    schema, ui = copy.deepcopy(SCHEMA), copy.deepcopy(UISCHEMA)
    for name, (field, _bad) in FIELDS.items():
        schema["properties"][name] = field
    ui["ui:order"] = [*ui["ui:order"], *FIELDS]
    designer = login("designer.hf")
    assert save(designer, schema, ui, 0).status_code == 200
    deployed = designer.post(f"/forms/{STEM}/deploy", json={"note": "规则齐全", "confirm": True})
    assert deployed.status_code == 201, deployed.get_json()
    case = world.open("accountability", data=REGISTER)
    task = world.task(case, "register").id
    clerk = login("discipline.hf")
    data = {"register_note": "同意立案", **{name: bad for name, (_f, bad) in FIELDS.items()}}

    chinese = clerk.post(f"/tasks/{task}/complete", json={"data": data})
    assert chinese.status_code == 422
    body = chinese.get_json()
    assert body["errors"] == {name: [said] for name, said in CHINESE.items()}
    assert body["detail"].startswith(f"表单有 {len(FIELDS)} 处需要修改：")
    assert "「文号」格式不符合要求" in body["detail"] and "「金额」应大于 0" in body["detail"]

    english = clerk.client.post(
        f"/api/v1/tasks/{task}/complete",
        json={"data": data},
        headers={"X-CSRF-Token": clerk.csrf, "Accept-Language": "en"},
    )
    assert english.status_code == 422
    body = english.get_json()
    assert body["errors"] == {name: [said] for name, said in ENGLISH.items()}
    assert body["detail"].startswith(f"The form has {len(FIELDS)} problem(s) to correct: ")
    # a title the catalog has is named in English; a designer's new one stays as written
    assert "Document number: Not in the required form" in body["detail"]
    assert "金额: Must be more than 0" in body["detail"]
    for said in (*body["errors"].values(), [body["detail"]]):
        assert not any(w in s for s in said for w in ("is not", "does not", "expected"))


def test_the_shipped_forms_rules_answer_in_english_on_request(world: World, login: Any) -> None:
    """A rule of a shipped form with its condition: the field, the choice and the rule's own
    words all in English."""
    case = world.awaiting_decision()
    task = world.task(case, "decide")
    api = login("committee.hf")
    today = world.today().isoformat()
    refused = api.client.post(
        f"/api/v1/tasks/{task.id}/complete",
        json={"data": {"outcome": "adjustment", "reason": "情节较重", "decided_on": today}},
        headers={"X-CSRF-Token": api.csrf, "Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "adjustment": [
            (
                "Required when “Decision: Organizational adjustment” is chosen: §6 An"
                " organizational adjustment must be one of: transfer from the post, change to a"
                " non-leading position, removal from office or demotion"
            )
        ]
    }
    assert refused.get_json()["detail"].startswith(
        "The form has 1 problem(s) to correct: Kind of organizational adjustment: Required when"
    )

"""Task forms from JSON Schema: every form in forms/ renders; posted fields read back as the data
the schema validates (lists, numbers, yes/no, choices); messages in Chinese under the
validator's field paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask, render_template_string

from server.ui import schema_form
from tests.support.world import FORMS
from workflows.engine import forms


def _form(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ui = FORMS / f"{name}.uischema.json"
    return (
        json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8")),
        json.loads(ui.read_text(encoding="utf-8")) if ui.exists() else {},
    )


SCHEMAS = sorted(p.name.removesuffix(".schema.json") for p in Path(FORMS).glob("*.schema.json"))


def test_every_form_renders_each_property(app: Flask) -> None:
    for name in SCHEMAS:
        schema, ui = _form(name)
        fields = schema_form.build(schema, ui, {})
        with app.test_request_context("/"):
            html = render_template_string(
                '{% import "_schema_form.html" as sf %}'
                "{% for f in fields %}{{ sf.field(f) }}{% endfor %}",
                fields=fields,
            )
        for key, sub in schema["properties"].items():
            if sub.get("readOnly") or (ui.get(key) or {}).get("ui:readonly"):
                assert str(sub.get("title", key)) in html, (name, key)
            elif sub.get("type") == "array":
                assert f'name="{key}/0/' in html, (name, key)
            else:
                assert f'name="{key}"' in html, (name, key)


def test_list_items_are_read_back_and_blank_rows_dropped() -> None:
    schema, ui = _form("periodic_talks_plan")
    posted = {
        "pairs/0/upper": "市委书记",
        "pairs/0/upper_unit": "合肥市",
        "pairs/0/lower": "县委书记",
        "pairs/0/lower_unit": "肥东县",
        "pairs/1/upper": "",
        "pairs/1/lower": " ",
    }
    data, unreadable = schema_form.read(schema, ui, posted)
    assert unreadable == []
    assert data == {
        "pairs": [
            {
                "upper": "市委书记",
                "upper_unit": "合肥市",
                "lower": "县委书记",
                "lower_unit": "肥东县",
            }
        ]
    }
    assert forms.problems(schema, data) == []
    grown = schema_form.build(schema, ui, posted, extra_rows={"pairs": 1})
    assert len(grown[0].rows) == 3 and grown[0].rows[0][0].value == "市委书记"


def test_an_empty_list_and_a_missing_item_field_are_named() -> None:
    schema, ui = _form("periodic_talks_plan")
    data, _ = schema_form.read(schema, ui, {})
    assert forms.problems(schema, data) == [{"field": "pairs", "message": "请至少填写一项"}]
    data, _ = schema_form.read(schema, ui, {"pairs/0/upper": "市委书记"})
    assert forms.problems(schema, data) == [
        {"field": "pairs/0/lower", "message": "请填写此项"},
        {"field": "pairs/0/lower_unit", "message": "请填写此项"},
    ]
    fields = schema_form.build(schema, ui, {"pairs/0/upper": "市委书记"})
    top = schema_form.attach(
        fields,
        [
            {"field": "pairs/0/lower", "message": "请填写此项"},
            {"field": "(form)", "message": "整体有误"},
        ],
    )
    assert top == ["整体有误"]
    lower = next(f for f in fields[0].walk() if f.path == "pairs/0/lower")
    assert lower.errors == ["请填写此项"] and lower.focus


def test_numbers_yes_no_and_choices_take_their_json_types() -> None:
    schema, ui = _form("periodic_typical_nominate")
    posted = {
        "nominees/0/name": "王某",
        "nominees/0/cadre_id": "12",
        "nominees/0/post": "县委书记",
        "nominees/0/category": "county_secretary",
        "nominees/0/deeds": "带领全县推进改革试点成效显著",
        "nominees/0/recommend_promotion": "true",
        "nominees/1/name": "李某",
        "nominees/1/cadre_id": "十二",
    }
    data, unreadable = schema_form.read(schema, ui, posted)
    assert data["nominees"][0] == {
        "name": "王某",
        "cadre_id": 12,
        "post": "县委书记",
        "category": "county_secretary",
        "deeds": "带领全县推进改革试点成效显著",
        "recommend_promotion": True,
    }
    assert data["nominees"][1]["recommend_promotion"] is False
    assert unreadable == [{"field": "nominees/1/cadre_id", "message": "应为整数"}]
    assert schema_form.flatten(data)["nominees/0/recommend_promotion"] == "true"


def test_boolean_choices_and_bad_dates_get_chinese_messages() -> None:
    schema, ui = _form("tolerance_analyse")
    data, _ = schema_form.read(
        schema, ui, {"distinction_pioneering": "false", "motive": "nonsense"}
    )
    assert data["distinction_pioneering"] is False
    found = {p["field"]: p["message"] for p in forms.problems(schema, data)}
    assert (
        found["motive"] == "请从所列选项中选择" and found["distinction_exploratory"] == "请选择一项"
    )
    schema, ui = _form("accountability_investigate")
    found = {
        p["field"]: p["message"]
        for p in forms.problems(
            schema,
            {"findings": "查明属实", "responsibility": "direct", "investigated_on": "2026-02-30"},
        )
    }
    assert found == {"investigated_on": "请填写有效的日期（年-月-日）"}


def test_the_six_elements_form_one_grid_in_their_order() -> None:
    schema, ui = _form("tolerance_analyse")
    fields = schema_form.build(schema, ui, {"motive": "unfavourable"})
    grid = fields[0]
    assert grid.widget == "grid"
    assert [row.label for row in grid.children] == [
        "动机态度",
        "客观条件",
        "程序方法",
        "性质程度",
        "后果影响",
        "挽回损失",
    ]
    motive, reason = grid.children[0].children
    assert [o.value for o in motive.options] == [
        "favourable",
        "unfavourable",
    ] and motive.value == "unfavourable"
    assert reason.path == "motive_reason" and reason.widget == "textarea"
    assert [f.path for f in fields[1:3]] == [
        "distinction_pioneering",
        "distinction_pioneering_note",
    ]


def test_every_rule_is_worded_in_chinese() -> None:
    """The rules a designer may write are said in Chinese, a dependent field by its own name
    and kind (a choice: 请选择一项)."""
    schema = {
        "type": "object",
        "properties": {
            "kind": {"oneOf": [{"const": "none", "title": "无"}, {"const": "some", "title": "有"}]},
            "code": {"type": "string", "pattern": "^[A-Z]+$"},
            "count": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 2},
            "tags": {"type": "array", "uniqueItems": True},
            "note": {"type": "string"},
        },
        "dependentRequired": {"note": ["kind"]},
        "additionalProperties": False,
    }
    data = {"note": "x", "code": "ab", "count": -1, "tags": ["a", "a"], "extra": 1}
    assert sorted((p["field"], p["message"]) for p in forms.problems(schema, data)) == [
        ("(form)", "表单含有不接受的字段"),
        ("code", "格式不符合要求"),
        ("count", "应为 2 的倍数"),
        ("count", "应大于 0"),
        ("kind", "请选择一项"),
        ("tags", "各项不能重复"),
    ]

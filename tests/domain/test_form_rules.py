"""The forms in forms/ agree on their date rule: a date that records something done is marked
`x-past` (not after today); only deadline-like dates may lie ahead."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.support.world import FORMS
from workflows.engine import forms
from workflows.errors import FormInvalid

#: Dates a form sets ahead: deadlines (整改期限、补充整改期限、督办限期).
DEADLINES = {"deadline", "new_deadline", "rectification_deadline", "new_due_on"}


def _dates() -> list[tuple[str, str, dict[str, object]]]:
    found = []
    for path in sorted(FORMS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        for name, prop in schema["properties"].items():
            if prop.get("format") == "date" and not prop.get("readOnly"):
                found.append((path.name, name, prop))
    return found


@pytest.mark.parametrize(("form", "name", "prop"), _dates(), ids=lambda v: str(v)[:40])
def test_a_date_of_something_done_is_not_after_today(
    form: str, name: str, prop: dict[str, object]
) -> None:
    assert prop.get(forms.PAST) is (None if name in DEADLINES else True), (form, name)


def test_x_past_refuses_only_dates_after_today_wherever_they_are() -> None:
    schema = {
        "type": "object",
        "properties": {
            "done_on": {"type": "string", "format": "date", "x-past": True},
            "due_on": {"type": "string", "format": "date"},
            "talks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"on": {"type": "string", "format": "date", "x-past": True}},
                },
            },
        },
    }
    today = date(2026, 3, 2)
    forms.validate(schema, {"done_on": "2026-03-02", "due_on": "2027-01-01"}, today=today)
    with pytest.raises(FormInvalid) as refused:
        forms.validate(
            schema,
            {"done_on": "2026-03-03", "talks": [{"on": "2026-03-01"}, {"on": "2026-08-01"}]},
            today=today,
        )
    assert [(p.field, p.rule, p.limit) for p in refused.value.problems] == [
        ("done_on", "x-past", "2026-03-02"),
        ("talks/1/on", "x-past", "2026-03-02"),
    ]

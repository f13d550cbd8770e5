"""Checking one expression for the editor's properties panel (POST /processes/check-expression)."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

URL = "/processes/check-expression"


def test_a_good_condition_timer_and_script_pass(world: World, login: Any) -> None:
    api = login("designer.hf")
    for kind, text in (
        ("condition", "amount > 5 and source == 'audit'"),
        ("timer", "end_of_day(add_months(received_on, appeal_window_months))"),
        ("timer", '"P" + str(5) + "D"'),
        ("script", "total = amount + 1\nlate = total > 3"),
        ("condition", "   "),
    ):
        response = api.post(URL, json={"expression": text, "kind": kind})
        assert response.status_code == 200, (kind, text)
        assert response.get_json() == {"ok": True, "message": "表达式有效"}


def test_a_bad_expression_is_refused_in_chinese(world: World, login: Any) -> None:
    api = login("designer.hf")
    cases = (
        ("condition", "amount >", "语法"),
        ("condition", "case.amount > 5", "不允许使用属性访问"),
        ("condition", "__import__('os')", "以 _ 开头的名称保留"),
        ("condition", "shutdown(1)", "函数 'shutdown' 未登记"),
        ("timer", "lambda: 5", "不允许使用lambda"),
        ("script", "for x in y:\n    z = 1", "脚本中不允许使用for 循环"),
    )
    for kind, text, words in cases:
        body = api.post(URL, json={"expression": text, "kind": kind}).get_json()
        assert body["ok"] is False, (kind, text)
        assert words in body["message"], body


def test_a_bad_body_names_the_field(world: World, login: Any) -> None:
    api = login("designer.hf")
    response = api.post(URL, json={"expression": "a > 1", "kind": "guess"})
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "validation_failed", body
    assert set(body["errors"]) == {"kind"}, body
    response = api.post(URL, json={"kind": "condition"})
    body = response.get_json()
    assert response.status_code == 422 and set(body["errors"]) == {"expression"}, body


def test_only_designers_check_expressions(world: World, login: Any) -> None:
    for user in ("admin.hf", "discipline.hf", "supervisor.hf", "zhang"):
        refused = login(user).post(URL, json={"expression": "a > 1", "kind": "condition"})
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"

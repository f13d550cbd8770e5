"""The API's language: Chinese problem bodies by default (titles, marshmallow's field messages,
form rules, the audit trail's names), English titles and field messages when the client asks
with `Accept-Language: en` (the pages' catalog); domain messages marked t("…") in English too,
others stay Chinese."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

EN = {"Accept-Language": "en"}


def test_query_arguments_are_refused_in_chinese_and_in_english_when_asked(login: Any) -> None:
    admin = login("admin.hf")
    path = "/admin/audit?instance_id=abc&per_page=0"
    zh = admin.get(path).get_json()
    assert (zh["title"], zh["detail"]) == ("输入有误", "请求有误：请按各字段的提示修改")
    assert zh["errors"]["instance_id"] == ["应为整数"]
    assert zh["errors"]["per_page"] == ["应在 1 到 200 之间"]
    en = admin.get(path, headers=EN).get_json()
    assert (en["title"], en["detail"]) == (
        "Invalid input",
        "Invalid request: correct each field as its message says",
    )
    assert en["errors"] == {
        "instance_id": ["Must be an integer"],
        "per_page": ["Must be between 1 and 200"],
    }
    preferred = admin.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert preferred.get_json()["title"] == "输入有误"


def test_http_refusals_have_titles_in_the_asked_language(login: Any) -> None:
    admin = login("admin.hf")
    assert admin.get("/no-such-thing").get_json()["title"] == "未找到"
    assert admin.get("/no-such-thing", headers=EN).get_json()["title"] == "Not found"
    refused = admin.client.put("/api/v1/auth/login", headers=EN).get_json()
    assert refused["title"] == "Method not allowed"
    assert refused["detail"] == "/api/v1/auth/login does not accept PUT"


def test_form_refusals_are_worded_in_english_under_an_english_title(
    world: World, login: Any
) -> None:
    case = world.open(
        "accountability",
        data={"source": "audit", "facts": "审计发现违规拨付专项资金", "evidence": "审计报告"},
    )
    task = world.task(case, "register")
    clerk = login("discipline.hf")
    bad = clerk.post(f"/tasks/{task.id}/complete", json={"data": {"register_note": 42}})
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["register_note"] == ["应为文字"]
    english = clerk.client.post(
        f"/api/v1/tasks/{task.id}/complete",
        json={"data": {"register_note": 42}},
        headers={**EN, "X-CSRF-Token": clerk.csrf},
    ).get_json()
    assert english["title"] == "Invalid input"
    assert english["errors"]["register_note"] == ["Must be text"]  # the form's rule, worded


def test_audit_rows_name_their_action_and_object(login: Any) -> None:
    admin = login("admin.hf")
    rows = admin.get("/admin/audit?action=auth.login").get_json()["items"]
    assert rows and {(r["action_name"], r["object_name"]) for r in rows} == {("登录", "用户")}


def test_domain_refusals_are_chinese_by_default_and_english_when_asked(
    world: World, login: Any
) -> None:
    """A 404 and a 409 from workflows/: the message with its values, in the asked language."""
    clerk = login("discipline.hf")
    missing = clerk.get("/tasks/999999")
    assert missing.status_code == 404
    assert missing.get_json()["detail"] == "任务 999999 不存在"
    english = clerk.client.get("/api/v1/tasks/999999", headers=EN)
    assert english.status_code == 404
    assert english.get_json()["detail"] == "Task 999999 not found"

    case = world.open(
        "accountability",
        data={"source": "audit", "facts": "审计发现违规拨付专项资金", "evidence": "审计报告"},
    )
    task = world.task(case, "register")
    path = f"/tasks/{task.id}/withdraw"
    refused = clerk.post(path, json={"reason": "误办"})
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == f"「{task.name}」尚未办结，无需撤回"
    english = clerk.client.post(
        "/api/v1" + path, json={"reason": "误办"}, headers={**EN, "X-CSRF-Token": clerk.csrf}
    )
    assert english.status_code == 409
    assert english.get_json()["detail"].endswith(
        "” is not completed yet: there is nothing to withdraw"
    )


def test_the_servers_own_refusals_follow_the_asked_language(login: Any) -> None:
    """Refusals worded by the server itself (the CSRF check, a field's own rule) are t()
    messages: Chinese by default, English on request."""
    admin = login("admin.hf")
    body = {"username": "x.hf", "display_name": "名" * 51, "password": "long-enough-1",
            "role": "discipline", "org_unit": "ah-hf"}  # fmt: skip
    valid = {**body, "display_name": "王五"}
    forged = admin.client.post("/api/v1/admin/users", json=valid)
    assert forged.status_code == 403
    assert forged.get_json()["detail"].startswith("CSRF 校验失败")
    forged_en = admin.client.post("/api/v1/admin/users", json=valid, headers=EN)
    assert forged_en.get_json()["detail"].startswith("CSRF check failed")
    too_long = admin.post("/admin/users", json=body)
    assert too_long.get_json()["errors"]["display_name"] == ["姓名应为 1 到 50 个字"]
    too_long_en = admin.client.post(
        "/api/v1/admin/users", json=body, headers={**EN, "X-CSRF-Token": admin.csrf}
    )
    assert too_long_en.get_json()["errors"]["display_name"] == [
        "The name must be 1 to 50 characters"
    ]

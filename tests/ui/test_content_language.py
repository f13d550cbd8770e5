"""Names from the process definitions in the page's language: a step and its process read in
English on English pages (the catalog), as written on Chinese ones."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def test_step_and_process_names_follow_the_page_language(logged_in: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    task_id = world.task(case, "investigate").id
    client, _csrf = logged_in("discipline.hf")
    english = {
        "inbox": client.get("/tasks?queue=role&lang=en").get_data(as_text=True),
        "task": client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True),
        "case": client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True),
    }
    for page, html in english.items():
        assert ">Responsibility investigation</a>" in html or (
            "<h1>Responsibility investigation " in html
        ), page
    assert "<dd>Accountability</dd>" in english["task"]
    chinese = client.get(f"/tasks/{task_id}?lang=zh-CN").get_data(as_text=True)
    assert "<h1>责任调查 " in chinese and "Responsibility investigation" not in chinese

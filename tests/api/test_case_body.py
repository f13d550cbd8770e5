"""The body of POST /cases as the README documents it: `process`, `cadre_id`, `source` and
`title` beside `data`; `source` put inside `data` is refused naming both places."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

FACTS = {"facts": "审计发现违规拨付专项资金", "evidence": "审计报告〔2026〕3号"}


def test_source_stands_beside_data(world: World, login: Any) -> None:
    api = login("discipline.hf")
    cadre = world.cadres["zhang"]
    misplaced = api.post(
        "/cases",
        json={"process": "accountability", "cadre_id": cadre, "data": {"source": "audit", **FACTS}},
    )
    assert misplaced.status_code == 422
    assert set(misplaced.get_json()["errors"]) == {"source", "data.source"}
    opened = api.post(
        "/cases",
        json={
            "process": "accountability",
            "cadre_id": cadre,
            "source": "audit",
            "title": "违规拨付专项资金问责",
            "data": FACTS,
        },
    )
    assert opened.status_code == 201, opened.get_json()
    assert opened.get_json()["title"] == "违规拨付专项资金问责"

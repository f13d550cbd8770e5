"""The clock API's body as the README documents it: `advance` takes negative durations and
`set` an earlier moment, so a demo moves back as well as forward."""

from __future__ import annotations

from typing import Any

from tests.support.world import World


def test_the_clock_moves_back_by_a_negative_duration_or_to_an_earlier_moment(
    world: World, login: Any
) -> None:
    api = login("admin.hf")
    back = api.post("/admin/clock", json={"advance": "-1d"})
    assert back.status_code == 200 and back.get_json()["today"] == "2026-03-01"
    assert back.get_json()["offset_seconds"] < 0
    earlier = login("admin.hf").post("/admin/clock", json={"set": "2026-02-02"})
    assert earlier.status_code == 200 and earlier.get_json()["today"] == "2026-02-02"
    assert earlier.get_json()["now"].startswith("2026-02-01T16:00:00")  # local midnight

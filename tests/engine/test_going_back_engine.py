"""Going back in the engine (退回/撤回 move the token backwards), each scenario run straight
and with a save/restore of spec and state between every step, as the engine scenarios are."""

from __future__ import annotations

import pytest

from tests.engine.test_engine_scenarios import MODES, Scenario
from workflows.engine import spiff as engine


class Going(Scenario):
    def path(self, element: str) -> list[str]:
        assert self.run is not None
        return [p.element for p in self.run.path_to(self.task(element).id)]

    def completed_id(self, element: str, current: str) -> str:
        assert self.run is not None
        [found] = [p.id for p in self.run.path_to(self.task(current).id) if p.element == element]
        return found

    def followers(self, task_id: str) -> list[tuple[str, bool]]:
        assert self.run is not None
        return sorted((f.element, f.completed) for f in self.run.followers(task_id))

    def reset(self, task_id: str) -> None:
        assert self.run is not None
        self.run.reset_to(task_id)
        self._step_done()


def _at_serve(mode: str) -> Going:
    s = Going("parallel_review", ["parallel_review.bpmn"], mode, "2026-11-02 09:00")
    s.start()
    s.complete("open", opened=True)
    s.complete("law", law="第七条")
    s.complete("facts", facts="属实")
    s.complete("decide", outcome="问责")
    return s


@pytest.mark.parametrize("mode", MODES)
def test_the_path_holds_every_branch_that_joined(mode: str) -> None:
    s = _at_serve(mode)
    assert s.ready() == ["serve"]
    assert sorted(s.path("serve")) == ["decide", "facts", "law", "open"]
    assert s.path("serve")[0] == "decide"


@pytest.mark.parametrize("mode", MODES)
def test_back_to_a_branch_waits_for_it_at_the_join_then_goes_on(mode: str) -> None:
    s = _at_serve(mode)
    for branch in ("facts", "law"):
        target = s.completed_id(branch, "serve")
        assert s.followers(target) == [("decide", True), ("serve", False)]
        s.reset(target)
        assert s.ready() == [branch]  # the other branch waits at the join, done
        s.complete(branch, note=f"补充{branch}")
        assert s.ready() == ["decide"]
        assert sorted(s.path("decide")) == ["facts", "law", "open"]
        s.complete("decide", outcome="问责")
        assert s.ready() == ["serve"]


@pytest.mark.parametrize("mode", MODES)
def test_back_before_the_fork_opens_only_that_step_and_then_both_branches(mode: str) -> None:
    s = _at_serve(mode)
    s.reset(s.completed_id("open", "serve"))
    assert s.ready() == ["open"]
    s.complete("open", opened=True)
    assert s.ready() == ["facts", "law"]


@pytest.mark.parametrize("mode", MODES)
def test_the_reset_step_has_the_data_it_had_before_it_was_completed(mode: str) -> None:
    s = _at_serve(mode)
    s.reset(s.completed_id("decide", "serve"))
    assert s.run is not None
    data = s.run.task_data(s.task("decide").id)
    assert data.get("facts") == "属实" and "outcome" not in data


@pytest.mark.parametrize("mode", MODES)
def test_only_a_completed_user_task_can_be_reset_to(mode: str) -> None:
    s = _at_serve(mode)
    assert s.run is not None
    with pytest.raises(engine.TaskNotReady):
        s.run.reset_to(s.task("serve").id)


@pytest.mark.parametrize("mode", MODES)
def test_a_step_a_reset_took_away_is_not_ready_nor_a_completed_step(mode: str) -> None:
    s = _at_serve(mode)
    serve = s.task("serve").id
    decided = s.completed_id("decide", "serve")
    s.reset(s.completed_id("open", "serve"))
    assert s.run is not None
    with pytest.raises(engine.TaskNotReady):  # a completion that read its row before the reset
        s.run.complete_user_task(serve, {})
    assert not s.run.is_completed_step(decided)
    assert s.run.followers(decided) == [] and s.run.path_to(serve) == []

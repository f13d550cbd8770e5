"""People by name (DOMAIN.md §6): 姓名（单位·岗位） for users, a Chinese label for the system's
own actors, and the lists of whom a step may go to, by the rule the write applies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.support import HASHER
from tests.support.world import World, make_world
from workflows import access
from workflows.errors import Forbidden, NotFound, ValidationFailed
from workflows.org import people
from workflows.org import service as org
from workflows.runtime import Runtime
from workflows.tasks import candidates
from workflows.tasks import service as work

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


@contextmanager
def _statements(rt: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)


def _add(rt: Runtime, username: str, name: str, **extra: Any) -> None:
    with rt.db.transaction() as session:
        org.add_user(
            session,
            username=username,
            display_name=name,
            password="demo-pass-1",
            clock=rt.clock,
            hasher=HASHER,
            **{"role": "discipline", "org_unit_code": "ah-hf", **extra},
        )


def test_labels_name_unit_and_post_in_one_query_and_tolerate_other_actors(rt: Runtime) -> None:
    make_world(rt)
    _add(rt, "wang.hf", "王建国", post="第一纪检监察室主任")
    with rt.db.reading() as session, _statements(rt) as seen:
        names = people.labels(
            session, ["wang.hf", "discipline2.hf", "scheduler", "cli", "gone.user", None]
        )
    assert len(seen) == 1  # a whole page of people costs one statement
    assert names["wang.hf"] == "王建国（合肥市·第一纪检监察室主任）"  # 职务 when set
    assert names["discipline2.hf"] == "第二审查员（合肥市·纪检监察机关）"  # else the role
    assert names["scheduler"] == "系统（定时任务）" and names["cli"] == "系统（命令行）"
    assert names["gone.user"] == "gone.user"  # unknown: as recorded, never an error
    assert names.of(None) is None
    with rt.db.reading() as session, _statements(rt) as seen:
        assert people.labels(session, [None, ""]) == {}
    assert seen == []  # nobody to name: no query


def _register(world: World) -> int:
    return world.task(world.open("accountability", data=REGISTER), "register").id


def _as(rt: Runtime, username: str) -> access.Principal:
    with rt.db.reading() as session:
        return access.principal_for(session, username=username)


def _listed(rt: Runtime, username: str, task_id: int, purpose: str, text: str = "") -> list[str]:
    with rt.db.reading() as session:
        found = candidates.candidates(
            session,
            principal=access.principal_for(session, username=username),
            task_id=task_id,
            purpose=purpose,
            text=text,
        )
    return [person.username for person in found]


def test_reassignment_candidates_are_whom_the_write_accepts(rt: Runtime) -> None:
    world = make_world(rt)
    task_id = _register(world)
    _add(rt, "retired.hf", "退休人员")
    with rt.db.transaction() as session:
        org.user_by_name(session, "retired.hf").active = False
    # an official who is the case's own cadre is recused from it (§1): never offered
    _add(rt, "zhang.discipline", "张三（兼）", cadre_id=world.cadres["zhang"])
    _add(rt, "zhao.hf", "赵六", post="第二纪检监察室副主任")
    listed = _listed(rt, "discipline.hf", task_id, candidates.DELEGATE)
    assert listed == ["discipline2.hf", "zhao.hf"]  # by 姓名; not oneself, inactive, other units
    assert _listed(rt, "discipline.hf", task_id, candidates.TRANSFER, "赵") == ["zhao.hf"]
    assert _listed(rt, "discipline.hf", task_id, candidates.TRANSFER, "discipline2") == [
        "discipline2.hf"
    ]
    assert _listed(rt, "discipline.hf", task_id, candidates.DELEGATE, "nobody") == []
    # each one left out is refused by the write, on `username`, and each one listed accepted
    for outsider in ("zhang.discipline", "retired.hf", "discipline.wh", "discipline.hf"):
        with rt.db.transaction() as session, pytest.raises(ValidationFailed) as refused:
            work.delegate(
                session,
                principal=_as(rt, "discipline.hf"),
                task_id=task_id,
                username=outsider,
                clock=rt.clock,
            )
        assert refused.value.errors[0]["field"] == "username", outsider
    with rt.db.transaction() as session:
        work.delegate(
            session,
            principal=_as(rt, "discipline.hf"),
            task_id=task_id,
            username="zhao.hf",
            clock=rt.clock,
        )
    # the holder now: not offered to whoever delegated it
    assert _listed(rt, "discipline.hf", task_id, candidates.TRANSFER) == ["discipline2.hf"]


def test_candidates_are_refused_where_the_choice_is_not_the_callers(rt: Runtime) -> None:
    world = make_world(rt)
    task_id = _register(world)
    with pytest.raises(NotFound):
        _listed(rt, "discipline.wh", task_id, candidates.DELEGATE)  # out of sight
    with pytest.raises(Forbidden):
        _listed(rt, "supervisor.hf", task_id, candidates.DELEGATE)  # sees it, may not reassign
    with pytest.raises(ValidationFailed) as wrong:
        _listed(rt, "discipline.hf", task_id, "everyone")
    assert wrong.value.errors[0]["field"] == "purpose"
    with pytest.raises(ValidationFailed) as no_reviewer:
        _listed(rt, "discipline.hf", task_id, candidates.REVIEWER)  # this step names none
    assert no_reviewer.value.errors[0]["field"] == "purpose"


def test_reviewer_candidates_leave_out_who_handled_the_original_case(rt: Runtime) -> None:
    world = make_world(rt)
    original = world.decided_accountability()
    with rt.db.transaction() as session:
        from workflows.cases import appeal

        case = appeal.file_appeal(
            session,
            original_case_id=original.id,
            grounds="处理过重",
            filed_on=world.today().isoformat(),
            actor="zhang",
            clock=rt.clock,
        )
    task_id = world.task(case, "accept").id
    _add(rt, "organization2.hf", "钱七", role="organization")
    _add(rt, "zhao.hf", "赵六")
    # discipline.hf investigated the original case (回避); discipline.wh is of another unit
    assert _listed(rt, "organization2.hf", task_id, candidates.REVIEWER) == [
        "discipline2.hf",
        "zhao.hf",
    ]
    assert _listed(rt, "organization2.hf", task_id, candidates.REVIEWER, "赵") == ["zhao.hf"]
    with pytest.raises(Forbidden):  # organization.hf served the original: recused from the appeal
        _listed(rt, "organization.hf", task_id, candidates.REVIEWER)
    with pytest.raises(ValidationFailed) as refused:
        world.complete(
            case,
            "accept",
            {"reviewer": "discipline.hf", "accepted_on": world.today().isoformat()},
            "organization2.hf",
        )
    assert refused.value.errors[0]["field"] == "reviewer"
    assert "discipline hf" in refused.value.errors[0]["message"]  # named, not by login id

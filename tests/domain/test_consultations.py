"""加签 (asking for opinions) and 抄送 (copies) on a step (DOMAIN.md §6), each test on SQLite
and PostgreSQL over the real bpmn/accountability.bpmn and bpmn/appeal.bpmn: a step with an
open request is not completed, whoever completes it; who may ask and copy, and whom; the
read grant they give; the audit rows and the case's timeline."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from tests.support import HASHER, deploy, start, task_named
from tests.support.world import World, make_world
from workflows import access
from workflows.access import Principal
from workflows.cases import views as case_views
from workflows.cases.models import CaseFile
from workflows.engine import audit, instances
from workflows.engine.models import AuditEvent
from workflows.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OpinionsMissing,
    ValidationFailed,
)
from workflows.org import service as org
from workflows.org.models import User
from workflows.runtime import Runtime
from workflows.tasks import completion, consultation_views, consultations, copies
from workflows.tasks import service as work
from workflows.tasks.models import Consultation, Notification

FACTS = {"source": "audit", "facts": "审计发现违规拨付专项资金", "evidence": "审计报告〔2026〕3号"}
SECOND = "第二审查员（合肥市·纪检监察机关）"
ORGANIZATION = "organization hf（合肥市·组织部门）"


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt, processes=["accountability", "appeal"])


def _principal(w: World, username: str) -> Principal:
    with w.rt.db.reading() as session:
        return access.principal_for(session, username=username)


def _ask(w: World, by: str, task_id: int, users: list[str], question: str = "请提出意见") -> int:
    with w.rt.transaction() as session:
        row = consultations.ask(
            session,
            principal=access.principal_for(session, username=by),
            task_id=task_id,
            users=users,
            question=question,
            clock=w.rt.clock,
        )
        return row.id


def _answer(w: World, by: str, consultation_id: int, opinion: str) -> str:
    with w.rt.transaction() as session:
        return consultations.answer(
            session,
            principal=access.principal_for(session, username=by),
            consultation_id=consultation_id,
            opinion=opinion,
            clock=w.rt.clock,
        ).state


def _complete(w: World, by: str, task_id: int) -> None:
    with w.rt.transaction() as session:
        completion.complete(
            session,
            principal=access.principal_for(session, username=by),
            task_id=task_id,
            data={},
            clock=w.rt.clock,
        )


def _copy(w: World, by: str, task_id: int, users: list[str], note: str = "请知悉") -> list[int]:
    with w.rt.transaction() as session:
        rows = copies.copy(
            session,
            principal=access.principal_for(session, username=by),
            task_id=task_id,
            users=users,
            note=note,
            clock=w.rt.clock,
        )
        return [row.id for row in rows]


def _notices(w: World, username: str, kind: str) -> list[Notification]:
    with w.rt.db.reading() as session:
        return list(
            session.execute(
                select(Notification).where(
                    Notification.username == username, Notification.kind == kind
                )
            ).scalars()
        )


def _claim(w: World, by: str, task_id: int) -> None:
    with w.rt.transaction() as session:
        work.claim(
            session,
            principal=access.principal_for(session, username=by),
            task_id=task_id,
            clock=w.rt.clock,
        )


def _register(w: World) -> tuple[CaseFile, int]:
    case = w.open("accountability", data=FACTS)
    return case, w.task(case, "register").id


def test_a_step_with_an_open_request_is_not_completed_until_every_opinion_is_in(
    world: World,
) -> None:
    case, task_id = _register(world)
    asked = _ask(
        world, "discipline.hf", task_id, ["discipline2.hf", "organization.hf"], "是否立案？"
    )
    assert [n.title for n in _notices(world, "discipline2.hf", "consulted")] == [
        f"征求意见：立案（{case.number}）"
    ]
    with pytest.raises(OpinionsMissing) as refused:
        _complete(world, "discipline.hf", task_id)
    assert SECOND in refused.value.message and ORGANIZATION in refused.value.message
    # The command line completes through the engine directly: refused all the same.
    with pytest.raises(OpinionsMissing), world.rt.transaction() as session:
        instances.complete_task(
            session, task_id=task_id, data={}, actor="discipline.hf", clock=world.rt.clock
        )
    assert _answer(world, "discipline2.hf", asked, "同意立案") == "open"
    with pytest.raises(OpinionsMissing) as still:
        _complete(world, "discipline.hf", task_id)
    assert ORGANIZATION in still.value.message and SECOND not in still.value.message
    assert [n.body for n in _notices(world, "discipline.hf", "opinion")] == [f"{SECOND}：同意立案"]
    with pytest.raises(Conflict):  # once only
        _answer(world, "discipline2.hf", asked, "再说一次")
    assert _answer(world, "organization.hf", asked, "建议补充审计底稿") == "answered"
    _complete(world, "discipline.hf", task_id)
    with world.rt.db.reading() as session:
        timeline = case_views.timeline(session, world.case(case.id))
        assert audit.verify(session).ok
    entries = [(e.action, e.label, e.note) for e in timeline if e.action.startswith("consult")]
    assert entries == [
        (
            "consultation.ask",
            "加签征求意见：立案",
            f"征求 {SECOND}、{ORGANIZATION} 的意见：是否立案？",
        ),
        ("consultation.answer", "回复意见：立案", f"{SECOND}：同意立案"),
        ("consultation.answer", "回复意见：立案", f"{ORGANIZATION}：建议补充审计底稿"),
    ]


def test_a_withdrawn_request_lets_the_step_complete_and_can_no_longer_be_answered(
    world: World,
) -> None:
    case, task_id = _register(world)
    _claim(world, "discipline.hf", task_id)
    asked = _ask(world, "discipline.hf", task_id, ["discipline2.hf"])
    with pytest.raises(Forbidden), world.rt.transaction() as session:  # asked, not the holder
        consultations.withdraw(
            session,
            principal=access.principal_for(session, username="discipline2.hf"),
            consultation_id=asked,
            clock=world.rt.clock,
        )
    with world.rt.transaction() as session:
        row = consultations.withdraw(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            consultation_id=asked,
            clock=world.rt.clock,
        )
        assert row.state == "withdrawn" and row.withdrawn_by == "discipline.hf"
    assert len(_notices(world, "discipline2.hf", "consult_withdrawn")) == 1
    with pytest.raises(Conflict, match="撤回"):
        _answer(world, "discipline2.hf", asked, "同意")
    _complete(world, "discipline.hf", task_id)
    with world.rt.db.reading() as session:
        labels = [e.label for e in case_views.timeline(session, world.case(case.id))]
    assert "撤回征求意见：立案" in labels


def test_a_step_the_process_takes_away_withdraws_its_open_request(world: World) -> None:
    """A terminate end reached on one branch cancels the other branch's step: the request for
    opinions on it is withdrawn and the colleague told, as a 退回 does."""
    deploy(world.rt, "terminating_branch.bpmn")
    iid = start(world.rt, "terminating_branch", org_unit="ah-hf")
    review, close = task_named(world.rt, "review", iid), task_named(world.rt, "close", iid)
    _claim(world, "discipline.hf", review.id)
    asked = _ask(world, "discipline.hf", review.id, ["discipline2.hf"])
    _complete(world, "discipline.hf", close.id)  # the other branch ends the process
    with world.rt.db.reading() as session:
        row = session.get(Consultation, asked)
        assert row is not None and row.state == "withdrawn"
        assert row.withdrawn_by == "discipline.hf" and row.closed_at is not None
        (event,) = session.execute(
            select(AuditEvent).where(AuditEvent.action == "consultation.withdraw")
        ).scalars()
        assert event.actor == "discipline.hf"
    (notice,) = _notices(world, "discipline2.hf", "consult_withdrawn")
    assert notice.title.startswith("征求意见已撤回：复核")
    assert notice.body == "「复核」已取消（流程已走向别处），无需再回复。"
    with pytest.raises(Conflict, match="撤回"):
        _answer(world, "discipline2.hf", asked, "同意")


def test_only_whoever_may_complete_the_step_asks_or_copies(world: World) -> None:
    _case, task_id = _register(world)
    for who, error in (
        ("organization.hf", Forbidden),
        ("discipline.wh", NotFound),
        ("supervisor.hf", Forbidden),
    ):
        with pytest.raises(error):
            _ask(world, who, task_id, ["discipline2.hf"])
        with pytest.raises(error):
            _copy(world, who, task_id, ["discipline2.hf"])
    _claim(world, "discipline.hf", task_id)  # held: the colleague no longer may
    with pytest.raises(Forbidden, match="只有本步骤的办理人可以加签"):
        _ask(world, "discipline2.hf", task_id, ["organization.hf"])


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (["discipline.hf"], "不能征求意见自己"),
        (["discipline.wh"], "无权查看 ah-hf 管辖的本案"),
        (["supervisor.wh"], "无权查看 ah-hf 管辖的本案"),
        (["designer.hf"], "流程设计账号"),
        (["zhang"], "干部本人账号"),
        (["nobody"], "用户 nobody 不存在"),
        (["discipline2.hf", "discipline2.hf"], "人员重复：discipline2.hf"),
        ([], "请选择征求意见的人员"),
        ([f"u{i}" for i in range(21)], "一次最多征求意见 20 人"),
    ],
)
def test_whom_one_may_not_ask(world: World, users: list[str], expected: str) -> None:
    _case, task_id = _register(world)
    with pytest.raises(ValidationFailed) as refused:
        _ask(world, "discipline.hf", task_id, users)
    assert expected in refused.value.message
    assert {e["field"] for e in refused.value.errors} == {"users"}


def test_question_note_and_opinion_are_required_and_bounded(world: World) -> None:
    _case, task_id = _register(world)
    for question in ("", "  ", "问" * 2001):
        with pytest.raises(ValidationFailed) as refused:
            _ask(world, "discipline.hf", task_id, ["discipline2.hf"], question)
        assert refused.value.errors == [
            {"field": "question", "message": "征求意见的问题应为 1–2000 个字"}
        ]
    with pytest.raises(ValidationFailed) as no_note:
        _copy(world, "discipline.hf", task_id, ["discipline2.hf"], note="")
    assert no_note.value.errors[0]["field"] == "note"
    asked = _ask(world, "discipline.hf", task_id, ["discipline2.hf"])
    with pytest.raises(ValidationFailed) as no_opinion:
        _answer(world, "discipline2.hf", asked, " ")
    assert no_opinion.value.errors[0]["field"] == "opinion"
    with pytest.raises(Forbidden, match="没有征求 discipline.hf 的意见"):  # the holder
        _answer(world, "discipline.hf", asked, "意见")
    for outsider in ("organization.hf", "discipline.wh"):  # neither asked nor the holder
        with pytest.raises(NotFound):
            _answer(world, outsider, asked, "意见")
    with pytest.raises(ValidationFailed, match="请勿重复加签"):
        _ask(world, "discipline.hf", task_id, ["discipline2.hf"])


def test_nobody_recused_from_an_appeal_is_asked_or_copied_on_it(world: World) -> None:
    _original, appeal_case = world.accepted_appeal(reviewer="discipline2.hf")
    review = world.task(appeal_case, "review").id
    for handled in ("discipline.hf", "committee.hf"):  # investigated / decided the original
        with pytest.raises(ValidationFailed, match=f"回避：.*{handled}.*办理或决定过原案件"):
            _ask(world, "discipline2.hf", review, [handled])
        with pytest.raises(ValidationFailed, match="回避"):
            _copy(world, "discipline2.hf", review, [handled])
    with world.rt.db.reading() as session:
        offered = {
            p.username
            for p in consultation_views.candidates(
                session, access.principal_for(session, username="discipline2.hf"), review
            )
        }
    assert not offered & {"discipline.hf", "committee.hf", "discipline2.hf", "zhang"}
    assert {"functional.hf", "unit.hf", "supervisor.hf", "admin.hf"} <= offered
    assert not {u for u in offered if u.endswith(".wh")}


def test_a_cadre_is_never_consulted_on_their_own_case(world: World) -> None:
    with world.rt.db.transaction() as session:  # an official who is also the case's cadre
        org.add_user(
            session,
            hasher=HASHER,
            username="zhang.official",
            display_name="张三",
            password="demo-pass-1",
            role="organization",
            org_unit_code="ah-hf",
            clock=world.rt.clock,
            cadre_id=world.cadres["zhang"],
        )
    _case, task_id = _register(world)
    with pytest.raises(ValidationFailed, match="回避：张三（zhang.official） 是案件 .* 的当事干部"):
        _ask(world, "discipline.hf", task_id, ["zhang.official"])
    other = world.task(world.open("accountability", cadre="li", data=FACTS), "register")
    assert other.org_unit == "ah-hf-fd"  # li's case is of another unit: out of jurisdiction
    with pytest.raises(ValidationFailed, match="无权查看"):
        _ask(world, "discipline.hf", task_id, ["discipline.wh"])


def test_copies_tell_the_colleague_and_are_not_repeated(world: World) -> None:
    case, task_id = _register(world)
    ids = _copy(
        world, "discipline.hf", task_id, ["organization.hf", "committee.hf"], "请知悉立案情况"
    )
    assert len(ids) == 2
    assert [n.title for n in _notices(world, "committee.hf", "copied")] == [
        f"抄送：立案（{case.number}）"
    ]
    with pytest.raises(ValidationFailed, match="本步骤已抄送过 organization.hf"):
        _copy(world, "discipline.hf", task_id, ["organization.hf"])
    with world.rt.db.reading() as session:
        mine = consultation_views.copies_to_me(session, _principal(world, "committee.hf"))
        assert [(c.task_name, c.case_number, c.note) for c in mine.items] == [
            ("立案", case.number, "请知悉立案情况")
        ]
        assert mine.items[0].copied_by_name == "discipline hf（合肥市·纪检监察机关）"
        labels = [e.note for e in case_views.timeline(session, world.case(case.id))]
        assert audit.verify(session).ok
    assert "抄送 committee hf（合肥市·党委(党组)）：请知悉立案情况" in labels
    with world.rt.transaction() as session:
        row = copies.mark_read(
            session,
            principal=access.principal_for(session, username="committee.hf"),
            copy_id=ids[1],
            clock=world.rt.clock,
        )
        assert row.read_at is not None
    with pytest.raises(NotFound), world.rt.transaction() as session:
        copies.mark_read(
            session,
            principal=access.principal_for(session, username="organization.hf"),
            copy_id=ids[1],
            clock=world.rt.clock,
        )


def _reads(w: World, username: str, case_id: int) -> bool:
    with w.rt.db.reading() as session:
        try:
            access.get_case_to_read(
                session, access.principal_for(session, username=username), case_id
            )
        except NotFound:
            return False
        return True


def _move(w: World, username: str, unit: str) -> None:
    with w.rt.db.transaction() as session:
        session.execute(update(User).where(User.username == username).values(org_unit_code=unit))


@pytest.mark.parametrize("how", ["asked", "answered", "copied"])
def test_being_asked_or_copied_lets_one_read_that_case_and_no_other(world: World, how: str) -> None:
    """The grant does not rest on jurisdiction: a colleague moved to 芜湖市 after being asked
    (or copied) still reads that case — and no other case of 合肥市, and writes nothing."""
    case, task_id = _register(world)
    neighbour, _ = _register(world)
    if how == "copied":
        _copy(world, "discipline.hf", task_id, ["organization.hf"])
    else:
        asked = _ask(world, "discipline.hf", task_id, ["organization.hf"])
        if how == "answered":
            _answer(world, "organization.hf", asked, "同意")
    _move(world, "organization.hf", "ah-wh")
    assert _reads(world, "organization.hf", case.id)
    assert not _reads(world, "organization.hf", neighbour.id)
    assert not _reads(world, "organization.wh", case.id)  # never asked: jurisdiction alone
    with world.rt.db.reading() as session:
        principal = access.principal_for(session, username="organization.hf")
        with pytest.raises(NotFound):  # a write asks jurisdiction, not the grant
            access.get_case(session, principal, case.id)
        detail = case_views.case_detail(
            session, principal=principal, case_id=case.id, clock=world.rt.clock
        )
        assert detail.number == case.number and detail.actions == ()
        assert all(t.actions == () for t in detail.tasks)


def test_a_withdrawn_request_unanswered_grants_nothing(world: World) -> None:
    case, task_id = _register(world)
    asked = _ask(world, "discipline.hf", task_id, ["organization.hf"])
    with world.rt.transaction() as session:
        consultations.withdraw(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            consultation_id=asked,
            clock=world.rt.clock,
        )
    _move(world, "organization.hf", "ah-wh")
    assert not _reads(world, "organization.hf", case.id)


def test_the_inbox_lists_the_requests_to_answer(world: World) -> None:
    case, task_id = _register(world)
    asked = _ask(world, "discipline.hf", task_id, ["organization.hf"], "是否立案？")
    with world.rt.db.reading() as session:
        me = _principal(world, "organization.hf")
        found = consultation_views.asked_of_me(session, me)
        assert [(c.id, c.question, c.case_number, c.actions) for c in found.items] == [
            (asked, "是否立案？", case.number, ("answer",))
        ]
        assert consultation_views.open_count(session, me) == 1
        holder: Any = consultation_views.one(session, _principal(world, "discipline.hf"), asked)
        assert holder.actions == ("withdraw",) and holder.missing == (ORGANIZATION,)
        with pytest.raises(NotFound):
            consultation_views.one(session, _principal(world, "discipline.wh"), asked)
    _answer(world, "organization.hf", asked, "同意")
    with world.rt.db.reading() as session:
        me = _principal(world, "organization.hf")
        assert consultation_views.asked_of_me(session, me).items == []
        done = consultation_views.asked_of_me(session, me, state="answered").items
        assert [o.opinion for o in done[0].opinions] == ["同意"]

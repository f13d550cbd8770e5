"""Correcting the dishonesty blacklist (更正, DOMAIN.md §2.5 step 4 and §5): a correction is a new
entry pointing at the entry it supersedes, by an organization clerk of the basis case's unit,
with a reason and a reviewer; the original stays as it was entered."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.world import World, make_world
from workflows import access
from workflows.cases import blacklist, blacklist_views
from workflows.cases import service as cases
from workflows.cases import views as case_views
from workflows.cases.models import BlacklistEntry, CaseFile
from workflows.engine.models import AuditEvent
from workflows.errors import Forbidden, NotFound, ValidationFailed
from workflows.runtime import Runtime

LISTING = "捏造事实、虚假告发干部，造成恶劣影响"


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt, processes=["clarification"])


def _basis(world: World) -> CaseFile:
    return world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )


def _listed(world: World, name: str = "王五", basis: CaseFile | None = None) -> BlacklistEntry:
    case = basis or _basis(world)
    with world.rt.db.transaction() as session:
        return blacklist.add_entry(
            session,
            person_name=name,
            basis_case_id=case.id,
            reviewer="discipline.hf",
            reason=LISTING,
            entered_on=world.today(),
            clock=world.rt.clock,
        )


def _correct(
    world: World,
    entry_id: int,
    *,
    user: str = "organization.hf",
    reviewer: str = "discipline.hf",
    reason: str = "姓名录入有误，依据案件材料更正",
    **changes: Any,
) -> BlacklistEntry:
    with world.rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        return blacklist.correct_entry(
            session,
            principal=principal,
            entry_id=entry_id,
            reviewer=reviewer,
            reason=reason,
            changes=blacklist.Changes(**changes),
            clock=world.rt.clock,
        )


def _refused(world: World, entry_id: int, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        _correct(world, entry_id, **kwargs)
    return refused.value


def _stored(world: World) -> tuple[int, int]:
    """(entries, correction audit rows)."""
    with world.rt.db.reading() as session:
        return (
            int(session.execute(select(func.count()).select_from(BlacklistEntry)).scalar_one()),
            int(
                session.execute(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "blacklist.correct")
                ).scalar_one()
            ),
        )


def test_a_correction_is_a_new_entry_and_the_original_stays_as_entered(world: World) -> None:
    original = _listed(world)
    corrected = _correct(world, original.id, person_name="王武")
    assert corrected.id != original.id and corrected.corrects_entry_id == original.id
    assert (
        corrected.person_name,
        corrected.reason,
        corrected.basis_case_id,
        corrected.entered_on,
    ) == ("王武", LISTING, original.basis_case_id, original.entered_on)
    assert (corrected.reviewer, corrected.correction_reason, corrected.removes_entry_id) == (
        "discipline.hf",
        "姓名录入有误，依据案件材料更正",
        None,
    )
    with world.rt.db.reading() as session:
        kept = session.get(BlacklistEntry, original.id)
        assert (kept.person_name, kept.reason, kept.reviewer, kept.corrects_entry_id) == (
            "王五",
            LISTING,
            "discipline.hf",
            None,
        )
        assert [e.id for e in blacklist.current(session)] == [corrected.id]
        assert [e.id for e in blacklist.register(session)] == [original.id, corrected.id]
        assert blacklist.listed(session, "王武") and not blacklist.listed(session, "王五")
        principal = access.principal_for(session, username="discipline.hf")
        old = blacklist_views.entry(session, principal=principal, entry_id=original.id)
    assert (old.status, old.corrected_by_entry_id, old.corrected_because) == (
        "corrected",
        corrected.id,
        "姓名录入有误，依据案件材料更正",
    )


def test_a_correction_is_audited_on_the_basis_cases_timeline(world: World) -> None:
    basis = _basis(world)
    original = _listed(world, basis=basis)
    corrected = _correct(world, original.id, entered_on=world.today() - timedelta(days=3))
    with world.rt.db.reading() as session:
        [row] = session.execute(
            select(AuditEvent).where(AuditEvent.action == "blacklist.correct")
        ).scalars()
        timeline = case_views.timeline(session, cases.get(session, basis.id))
    assert (row.actor, row.object_type, row.object_id, row.instance_id) == (
        "organization.hf",
        "blacklist_entry",
        str(corrected.id),
        basis.instance_id,
    )
    assert f'"corrects_entry_id": {original.id}' in row.detail and "entered_on" in row.detail
    [shown] = [e for e in timeline if e.action == "blacklist.correct"]
    assert (shown.label, shown.note) == (
        "更正失信黑名单条目",
        f"第 {original.id} 条 → 第 {corrected.id} 条",
    )


def test_moving_the_basis_case_is_on_both_timelines(world: World) -> None:
    first, second = _basis(world), _basis(world)
    corrected = _correct(
        world, _listed(world, basis=first).id, basis_case_id=second.id, reason="依据案件登记错误"
    )
    assert corrected.basis_case_id == second.id
    with world.rt.db.reading() as session:
        instances = set(
            session.execute(
                select(AuditEvent.instance_id).where(AuditEvent.action == "blacklist.correct")
            ).scalars()
        )
    assert instances == {first.instance_id, second.instance_id}


def test_corrections_chain_but_only_the_entry_in_force_is_corrected(world: World) -> None:
    original = _listed(world)
    first = _correct(world, original.id, person_name="王武")
    again = _refused(world, original.id, person_name="王午")
    assert again.errors == [{"field": "entry_id", "message": again.errors[0]["message"]}]
    assert f"只能更正现行的第 {first.id} 条" in again.errors[0]["message"]
    second = _correct(
        world,
        first.id,
        listing_reason="捏造事实诬告他人，造成恶劣影响",
        reason="列入理由表述不准确",
        reviewer="discipline2.hf",
    )
    assert (second.corrects_entry_id, second.person_name) == (first.id, "王武")
    with world.rt.db.reading() as session:
        principal = access.principal_for(session, username="organization.hf")
        chain = blacklist_views.history(session, principal=principal, entry_id=first.id)
    assert [(v.id, v.status, v.may_correct) for v in chain] == [
        (original.id, "corrected", False),
        (first.id, "corrected", False),
        (second.id, "in_force", True),
    ]


def test_removals_and_corrections_exclude_each_other(world: World) -> None:
    basis = _basis(world)
    corrected_one = _listed(world, basis=basis)
    correction = _correct(world, corrected_one.id, person_name="王武")
    with (
        world.rt.db.transaction() as session,
        pytest.raises(ValidationFailed, match=f"应移出第 {correction.id} 条"),
    ):
        blacklist.add_entry(
            session,
            person_name="",
            basis_case_id=basis.id,
            reviewer="organization.hf",
            reason="经复查不属诬告",
            entered_on=world.today(),
            clock=world.rt.clock,
            removes_entry_id=corrected_one.id,
        )
    removed = _listed(world, "赵七", basis=basis)
    with world.rt.db.transaction() as session:
        removal = blacklist.add_entry(
            session,
            person_name="",
            basis_case_id=basis.id,
            reviewer="organization.hf",
            reason="经复查不属诬告",
            entered_on=world.today(),
            clock=world.rt.clock,
            removes_entry_id=removed.id,
        )
    assert "移出，不能更正" in _refused(world, removed.id, person_name="赵琪").errors[0]["message"]
    assert (
        "移出记录不能更正" in _refused(world, removal.id, person_name="赵琪").errors[0]["message"]
    )
    assert _stored(world) == (4, 1)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"reason": "  "}, "reason", "须载明更正理由"),
        ({"reviewer": ""}, "reviewer", "须载明审核人"),
        ({"reviewer": "organization.hf"}, "reviewer", "不能是更正人本人"),
        ({"reviewer": "nobody"}, "reviewer", "不存在或已停用"),
        ({"reviewer": "committee.hf"}, "reviewer", "是党委(党组)人员"),
        ({"reviewer": "discipline.wh"}, "reviewer", "须为合肥市的组织部门或纪检监察机关人员"),
        ({"person_name": " "}, "person_name", "须载明人员姓名"),
        ({"listing_reason": ""}, "listing_reason", "须载明理由"),
        ({"entered_on": date(2026, 3, 3)}, "entered_on", "晚于今日"),
        ({"basis_case_id": 999}, "basis_case_id", "案件 999 不存在"),
        ({"person_name": "王五"}, "(body)", "至少改正一项"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_refused_correction_names_the_field_and_stores_nothing(
    world: World, changes: dict[str, Any], field: str, words: str
) -> None:
    original = _listed(world)
    values = {"person_name": "王武", **changes}
    refused = _refused(world, original.id, **values)
    assert [e["field"] for e in refused.errors] == [field] and words in refused.errors[0]["message"]
    assert _stored(world) == (1, 0)


def test_every_missing_field_is_named_at_once(world: World) -> None:
    refused = _refused(world, _listed(world).id, reason="", reviewer=" ", person_name="王武")
    assert [e["field"] for e in refused.errors] == ["reason", "reviewer"]


def test_another_units_case_is_no_basis(world: World) -> None:
    with world.rt.transaction() as session:
        elsewhere = cases.open_case(
            session,
            kind="clarification",
            subject=cases.Subject(name="某人", org_unit_code="ah-wh"),
            title="芜湖",
            data={"report": "反映", "trigger": "cadre_request"},
            actor="discipline.wh",
            clock=world.rt.clock,
        )
    refused = _refused(world, _listed(world).id, basis_case_id=elsewhere.id)
    assert refused.errors[0]["field"] == "basis_case_id"
    assert _stored(world) == (1, 0)


@pytest.mark.parametrize(
    ("user", "error"),
    [
        ("discipline.hf", Forbidden),
        ("supervisor.hf", Forbidden),
        ("admin.hf", Forbidden),
        ("organization.wh", NotFound),
    ],
)
def test_only_organization_clerks_of_the_unit_correct(
    world: World, user: str, error: type[Exception]
) -> None:
    original = _listed(world)
    with pytest.raises(error):
        _correct(world, original.id, user=user, reviewer="discipline2.hf", person_name="王武")
    assert _stored(world) == (1, 0)


@pytest.mark.parametrize("entry_id", [999, 0, 2**40])
def test_an_unknown_entry_is_not_found(world: World, entry_id: int) -> None:
    _listed(world)
    with pytest.raises(NotFound):
        _correct(world, entry_id, person_name="王武")

"""迁移 through the domain service on a real process with an embedded subprocess
(bpmn/rectification.bpmn, 整改实施): a case standing inside the subprocess moves when the new
version is the same, keeps its open step, deadline and timers, goes on and closes; a change
to the step it stands at inside the subprocess is refused with the reason; a revert puts it
back and it goes on on the old version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.domain.cases.test_rectification import (
    _issue,
    _open,
    _plan,
    _report,
    _verify,
    _world,
)
from tests.support.world import BPMN, FORMS, World
from workflows import access
from workflows.cases.models import CaseFile
from workflows.definitions import deployment, migrations
from workflows.engine.models import HumanTask, Instance, Timer
from workflows.runtime import Runtime

SOURCE = (BPMN / "rectification.bpmn").read_text(encoding="utf-8")
REPORT = '<bpmn:userTask id="report" name="报告整改进展">'


def _redeploy(rt: Runtime, tmp_path: Path, text: str) -> int:
    path = tmp_path / "rectification.bpmn"
    path.write_text(text, encoding="utf-8")
    with rt.transaction() as session:
        result = deployment.deploy(
            session,
            files=deployment.collect([path]),
            form_source=deployment.FormFolder(FORMS),
            max_bytes=rt.settings.max_definition_bytes,
            actor="designer.hf",
            clock=rt.clock,
            note="测试重新部署",
        )
    [(_key, version)] = result.deployed
    return version


def _reporting(w: World) -> CaseFile:
    """A case inside 整改实施: the plan is in, 报告整改进展 waits with the deadline's timers."""
    case = _open(w)
    _issue(w, case)
    _plan(w, case)
    assert [t.task_spec for t in w.tasks(case)] == ["report"]
    return case


def _rows(rt: Runtime, instance_id: int) -> list[tuple[Any, ...]]:
    with rt.db.reading() as session:
        tasks = session.execute(
            select(HumanTask.id, HumanTask.task_spec, HumanTask.due_at)
            .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
            .order_by(HumanTask.id)
        ).all()
        timers = session.execute(
            select(Timer.spiff_task_id, Timer.fire_at)
            .where(Timer.instance_id == instance_id)
            .order_by(Timer.id)
        ).all()
    return [tuple(t) for t in tasks] + [tuple(t) for t in timers]


def _migrate(rt: Runtime, to_version: int, **kw: Any) -> migrations.BatchResult:
    with rt.transaction() as session:
        return migrations.migrate(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            key="rectification",
            from_version=1,
            to_version=to_version,
            instance_ids=None,
            clock=rt.clock,
            **kw,
        )


def _version_of(rt: Runtime, case: CaseFile) -> int:
    with rt.db.reading() as session:
        instance = session.get(Instance, case.instance_id)
        assert instance is not None
        return instance.process_version_id


def test_a_case_inside_the_subprocess_moves_and_closes(rt: Runtime, tmp_path: Path) -> None:
    w = _world(rt)
    case = _reporting(w)
    assert case.instance_id is not None
    before = _rows(rt, case.instance_id)
    assert any(len(row) == 2 for row in before)  # the deadline's timers wait
    version = _redeploy(rt, tmp_path, SOURCE + "<!-- 重新部署 -->\n")
    result = _migrate(rt, version)
    assert [m.instance_id for m in result.moved] == [case.instance_id] and not result.refused
    assert _rows(rt, case.instance_id) == before
    _report(w, case, "completion")
    _verify(w, case, "accepted")
    assert w.case(case.id).status == "closed"


def test_a_change_where_it_stands_in_the_subprocess_is_refused(rt: Runtime, tmp_path: Path) -> None:
    w = _world(rt)
    case = _reporting(w)
    version = _redeploy(
        rt, tmp_path, SOURCE.replace(REPORT, '<bpmn:userTask id="report" name="报告整改情况">')
    )
    result = _migrate(rt, version)
    assert result.moved == []
    [refused] = result.refused
    assert refused.case_number == case.number
    assert "实例正停在步骤“报告整改进展”（report），新版本修改了该步骤（名称）" in refused.reasons


def test_revert_puts_it_back_and_it_goes_on(rt: Runtime, tmp_path: Path) -> None:
    w = _world(rt)
    case = _reporting(w)
    on_one = _version_of(rt, case)
    version = _redeploy(rt, tmp_path, SOURCE + "<!-- 重新部署 -->\n")
    [moved] = _migrate(rt, version).moved
    with rt.transaction() as session:
        view = migrations.revert(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            instance_id=moved.instance_id,
            migration_id=moved.migration_id,
            clock=rt.clock,
        )
    assert (view.from_version, view.to_version, view.can_revert) == (1, version, False)
    assert _version_of(rt, case) == on_one
    _report(w, case, "completion")
    _verify(w, case, "accepted")
    assert w.case(case.id).status == "closed"

"""Deployment: immutable, content-addressed versions, all or nothing, and the validator.

Database tests use `rt` (SQLite and PostgreSQL); validator tests call `deployment.check`,
which stores nothing, on the bad files under tests/data/bad/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import set_clock
from tests.support import complete, instance, open_tasks, start, task_named
from workflows.definitions import deployment
from workflows.engine.models import AuditEvent, DecisionVersion, ProcessVersion
from workflows.errors import DefinitionError, Problem
from workflows.roles import ROLES
from workflows.runtime import Runtime

DATA = Path(__file__).parent.parent / "data"
FORMS = DATA / "forms"
BAD = DATA / "bad"
BAD_FORMS = BAD / "forms"
LIMIT = 200_000
ORIGINAL_NAME = "责任调查"
REVISED_NAME = "责任调查(修订)"
FINDING = {"responsible": True, "severity": 2, "finding": "应负直接责任"}


# --- helpers ----------------------------------------------------------------------------


def deploy_paths(rt: Runtime, *paths: Path, forms_dir: Path = FORMS) -> deployment.Deployed:
    files = deployment.collect(list(paths))
    with rt.db.transaction() as session:
        return deployment.deploy(
            session,
            files=files,
            form_source=deployment.FormFolder(forms_dir),
            max_bytes=LIMIT,
            actor="tester",
            clock=rt.clock,
            note="测试部署",
            confirm=True,
        )


def count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def versions(rt: Runtime, key: str) -> list[ProcessVersion]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(ProcessVersion)
                .where(ProcessVersion.process_key == key)
                .order_by(ProcessVersion.version)
            ).scalars()
        )


def audit_actions(rt: Runtime) -> list[tuple[str, str, dict]]:
    with rt.db.reading() as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
        return [(r.action, r.object_id, json.loads(r.detail)) for r in rows]


def revised_deadline(tmp_path: Path) -> Path:
    """A changed copy of deadline.bpmn (same process id, renamed user task)."""
    text = (DATA / "deadline.bpmn").read_text(encoding="utf-8")
    assert f'name="{ORIGINAL_NAME}"' in text
    folder = tmp_path / "revised"
    folder.mkdir()
    path = folder / "deadline.bpmn"
    path.write_text(
        text.replace(f'name="{ORIGINAL_NAME}"', f'name="{REVISED_NAME}"'), encoding="utf-8"
    )
    return path


def problems_of(name: str, forms_dir: Path = BAD_FORMS) -> list[Problem]:
    checked = deployment.check(
        deployment.collect([BAD / name]),
        form_source=deployment.FormFolder(forms_dir),
        max_bytes=LIMIT,
    )
    return checked.errors


def only_problem(name: str) -> Problem:
    problems = problems_of(name)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- versions -------------------------------------------------------------------------------


def test_first_deployment_creates_version_1(rt: Runtime) -> None:
    result = deploy_paths(rt, DATA / "deadline.bpmn")
    assert result.deployed == [("deadline", 1)]
    assert result.unchanged == []
    [row] = versions(rt, "deadline")
    assert (row.version, row.name, row.source_file, row.deployed_by) == (
        1,
        "期限测试",
        "deadline.bpmn",
        "tester",
    )
    assert ORIGINAL_NAME in row.bpmn_xml
    [(action, key, detail)] = audit_actions(rt)
    assert (action, key, detail["version"]) == ("process.deploy", "deadline", 1)


def test_redeploying_the_same_file_is_a_no_op(rt: Runtime) -> None:
    deploy_paths(rt, DATA / "deadline.bpmn")
    again = deploy_paths(rt, DATA / "deadline.bpmn")
    assert again.deployed == []
    assert again.unchanged == [("deadline", 1)]
    assert [v.version for v in versions(rt, "deadline")] == [1]
    assert count(rt, ProcessVersion) == 1
    assert count(rt, AuditEvent) == 1


def test_a_changed_copy_deploys_as_version_2_and_leaves_version_1_as_it_was(
    rt: Runtime, tmp_path: Path
) -> None:
    deploy_paths(rt, DATA / "deadline.bpmn")
    [v1_before] = versions(rt, "deadline")
    result = deploy_paths(rt, revised_deadline(tmp_path))
    assert result.deployed == [("deadline", 2)]
    v1, v2 = versions(rt, "deadline")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.content_hash == v1_before.content_hash and v1.bpmn_xml == v1_before.bpmn_xml
    assert ORIGINAL_NAME in v1.bpmn_xml and REVISED_NAME not in v1.bpmn_xml
    assert REVISED_NAME in v2.bpmn_xml
    assert v1.content_hash != v2.content_hash
    assert [(a, d["version"]) for a, _, d in audit_actions(rt)] == [
        ("process.deploy", 1),
        ("process.deploy", 2),
    ]
    with rt.db.reading() as session:
        assert deployment.latest(session, process_key="deadline").version == 2


def test_an_instance_started_on_version_1_stays_on_it_after_version_2_is_deployed(
    rt: Runtime, tmp_path: Path
) -> None:
    set_clock(rt, "2026-11-02 09:00")
    deploy_paths(rt, DATA / "deadline.bpmn")
    old = start(rt, "deadline", {"registered_on": "2026-11-02"})
    deploy_paths(rt, revised_deadline(tmp_path))
    new = start(rt, "deadline", {"registered_on": "2026-11-02"})
    v1, v2 = versions(rt, "deadline")
    assert instance(rt, old).process_version_id == v1.id
    assert instance(rt, new).process_version_id == v2.id
    assert task_named(rt, "investigate", old).name == ORIGINAL_NAME
    assert task_named(rt, "investigate", new).name == REVISED_NAME

    complete(rt, task_named(rt, "investigate", old).id, FINDING)
    complete(rt, task_named(rt, "decide", old).id, {})
    finished = instance(rt, old)
    assert finished.status == "completed"
    assert finished.process_version_id == v1.id
    assert open_tasks(rt, old) == []
    assert instance(rt, new).status == "running"


def test_a_deployment_with_one_bad_file_among_good_ones_stores_nothing(
    rt: Runtime, tmp_path: Path
) -> None:
    deploy_paths(rt, DATA / "deadline.bpmn")
    revised = revised_deadline(tmp_path)
    before = (count(rt, ProcessVersion), count(rt, DecisionVersion), count(rt, AuditEvent))
    with pytest.raises(DefinitionError) as caught:
        deploy_paths(
            rt,
            revised,
            DATA / "waiting.bpmn",
            DATA / "recommendation.dmn",
            BAD / "bad_condition.bpmn",
        )
    assert "未部署任何内容" in caught.value.message
    assert {p.file for p in caught.value.problems if p.severity == "error"} == {
        "bad_condition.bpmn"
    }
    assert (count(rt, ProcessVersion), count(rt, DecisionVersion), count(rt, AuditEvent)) == before
    assert [v.version for v in versions(rt, "deadline")] == [1]
    assert versions(rt, "waiting") == []
    # the same good files without the bad one do deploy: the bad file alone refused it all
    result = deploy_paths(rt, revised, DATA / "waiting.bpmn", DATA / "recommendation.dmn")
    assert sorted(result.deployed) == [("deadline", 2), ("recommendation", 1), ("waiting", 1)]


# --- validation problems ------------------------------------------------------------------


def test_every_sample_definition_validates_cleanly_with_the_sample_forms() -> None:
    import tests.engine.test_hooks  # noqa: F401  (registers the actions hooked.bpmn names)

    paths = sorted(DATA.glob("*.bpmn")) + sorted(DATA.glob("*.dmn"))
    assert paths, "no sample definitions found"
    checked = deployment.check(
        deployment.collect(paths), form_source=deployment.FormFolder(FORMS), max_bytes=LIMIT
    )
    assert [str(p) for p in checked.errors] == []
    process_ids = {p.process_id for p in checked.processes}
    for path in paths:
        if path.suffix == ".bpmn":
            assert path.stem in process_ids, path.name
    decision_files = {source.name for _, source in checked.decisions}
    assert decision_files == {p.name for p in paths if p.suffix == ".dmn"}


def test_gateway_condition_calling_import_is_refused_at_the_sequence_flow() -> None:
    problem = only_problem("bad_condition.bpmn")
    assert (problem.file, problem.element) == ("bad_condition.bpmn", "evil_flow")
    assert "不允许使用属性访问" in problem.reason
    assert "__import__" in problem.reason


def test_timer_expression_with_attribute_access_is_refused() -> None:
    problem = only_problem("bad_timer.bpmn")
    assert problem.file == "bad_timer.bpmn"
    assert problem.element in {"evil_wait", "evil_wait_timer"}
    assert "不允许使用属性访问" in problem.reason
    assert "registered_on.__class__" in problem.reason


def test_timer_expression_problem_names_the_event() -> None:
    assert only_problem("bad_timer.bpmn").element == "evil_wait"


def test_script_task_with_import_is_refused_at_the_script_task() -> None:
    problem = only_problem("bad_script.bpmn")
    assert (problem.file, problem.element) == ("bad_script.bpmn", "evil_script")
    assert "不允许使用import 导入" in problem.reason


def test_user_task_in_an_unknown_lane_is_refused_naming_the_known_roles() -> None:
    problem = only_problem("unknown_lane.bpmn")
    assert (problem.file, problem.element) == ("unknown_lane.bpmn", "grab")
    assert "'hacker'" in problem.reason
    assert "不是已知角色" in problem.reason
    assert all(role in problem.reason for role in ROLES)


def test_user_task_outside_any_lane_is_refused() -> None:
    problem = only_problem("no_lane.bpmn")  # its other user task, 'check', is in a lane
    assert (problem.file, problem.element) == ("no_lane.bpmn", "orphan")
    assert "不在任何泳道中" in problem.reason


def test_missing_form_file_is_refused_at_the_user_task() -> None:
    problem = only_problem("missing_form.bpmn")
    assert (problem.file, problem.element) == ("missing_form.bpmn", "fill_missing")
    assert "表单 'missing.schema.json'" in problem.reason and "不存在" in problem.reason


def test_the_same_process_validates_once_its_form_exists(tmp_path: Path) -> None:
    (tmp_path / "missing.schema.json").write_text('{"type": "object"}', encoding="utf-8")
    assert problems_of("missing_form.bpmn", forms_dir=tmp_path) == []


def test_form_file_that_is_not_json_is_refused() -> None:
    problem = only_problem("form_not_json.bpmn")
    assert problem.file == "form_not_json.bpmn"
    assert "not_json.schema.json" in problem.reason
    assert "不是有效的 JSON" in problem.reason


def test_form_file_that_is_not_a_json_schema_is_refused() -> None:
    problem = only_problem("form_not_schema.bpmn")
    assert problem.file == "form_not_schema.bpmn"
    assert "not_schema.schema.json" in problem.reason
    assert "不是有效的 JSON Schema" in problem.reason
    assert "12" in problem.reason


@pytest.mark.parametrize(
    ("name", "task"),
    [("form_not_json.bpmn", "fill_not_json"), ("form_not_schema.bpmn", "fill_not_schema")],
)
def test_broken_form_problem_names_the_user_task_using_it(name: str, task: str) -> None:
    assert only_problem(name).element == task


def test_form_name_with_a_path_is_refused_even_if_the_file_exists() -> None:
    assert (BAD_FORMS / "../secret.json").is_file()  # a traversal would find a valid schema
    problem = only_problem("form_path.bpmn")
    assert (problem.file, problem.element) == ("form_path.bpmn", "fill_path")
    assert "'../secret.json'" in problem.reason
    assert "只能是文件名" in problem.reason


def test_dmn_input_entry_with_attribute_access_is_refused_at_the_entry() -> None:
    problem = only_problem("bad_entry.dmn")
    assert (problem.file, problem.element) == ("bad_entry.dmn", "evil_entry")
    assert "不允许使用属性访问" in problem.reason
    assert "nature.__class__" in problem.reason


def test_call_activity_calling_an_unknown_process_is_refused() -> None:
    problem = only_problem("bad_call.bpmn")
    assert problem.file == "bad_call.bpmn"
    assert "'no_such_process'" in problem.reason
    assert "not found" in problem.reason


def test_call_activity_problem_names_the_call_activity() -> None:
    assert only_problem("bad_call.bpmn").element == "call_ghost"


def test_bad_files_are_refused_by_deploy_too(rt: Runtime) -> None:
    names = sorted(p.name for p in BAD.iterdir() if p.suffix in {".bpmn", ".dmn"})
    assert len(names) >= 11
    for name in names:
        with pytest.raises(DefinitionError):
            deploy_paths(rt, BAD / name, forms_dir=BAD_FORMS)
    assert count(rt, ProcessVersion) == 0
    assert count(rt, DecisionVersion) == 0
    assert count(rt, AuditEvent) == 0

"""Form drafts in the domain: the checks a draft passes before it is stored, and where a
deployment made through the API or the browser finds each form (draft, else as last
deployed, else forms/)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.world import BPMN, FORMS, World, make_world
from workflows import access
from workflows.definitions import CLI_NOTE, deployment, form_checks, form_drafts
from workflows.errors import DraftConflict, ValidationFailed
from workflows.runtime import Runtime

STEM = "accountability_register"
NAME = f"{STEM}.schema.json"


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


def _save(rt: Runtime, schema: dict[str, Any], base: int, user: str = "designer.hf") -> int:
    with rt.transaction() as session:
        return form_drafts.save(
            session,
            principal=access.principal_for(session, username=user),
            stem=STEM,
            schema=schema,
            uischema={},
            base_revision=base,
            clock=rt.clock,
        ).revision


def _found(rt: Runtime, name: str = NAME) -> Any:
    with rt.db.reading() as session:
        source = form_drafts.DesignedForms.read(session, forms_dir=FORMS)
    schema, problems = source.load(name, referenced_by="accountability.bpmn", element="register")
    assert problems == []
    return schema, source.used


def test_a_form_nested_deeper_than_the_limit_is_refused_naming_it() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(33):
        deep = {"type": "object", "properties": {"a": deep}}
    with pytest.raises(ValidationFailed) as refused:
        form_checks.check_form(deep, {})
    assert refused.value.errors == [{"field": "schema", "message": "JSON 嵌套不能超过 64 层"}]


@pytest.mark.parametrize("stem", ["", "Register", "1form", "a-b", "a/b", "x" * 101])
def test_a_form_name_that_is_not_a_lower_case_identifier_is_refused(stem: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        form_checks.check_stem(stem)
    assert refused.value.errors[0]["field"] == "stem"


def test_a_deployment_reads_the_draft_then_the_deployed_form_then_forms(
    rt: Runtime, world: World
) -> None:
    shipped = json.loads((FORMS / NAME).read_text(encoding="utf-8"))
    assert _found(rt) == (shipped, {})  # deployed by the world from forms/
    drafted = {**shipped, "title": "立案（草稿）"}
    _save(rt, drafted, 0)
    assert _found(rt) == (drafted, {STEM: 1})
    # a form nobody deployed or drafted comes from forms/
    assert _found(rt, "appeal_accept.schema.json")[1] == {}


def test_a_save_over_a_stale_revision_names_the_revision_stored(rt: Runtime, world: World) -> None:
    shipped = json.loads((FORMS / NAME).read_text(encoding="utf-8"))
    assert _save(rt, shipped, 0) == 1
    assert _save(rt, shipped, 1, "designer.wh") == 2
    with pytest.raises(DraftConflict) as refused:
        _save(rt, shipped, 1)
    assert refused.value.details["revision"] == 2
    assert refused.value.details["saved_by"] == "designer.wh"


def test_a_restart_redeploying_the_seed_does_not_revert_a_designed_form(
    rt: Runtime, world: World
) -> None:
    shipped = json.loads((FORMS / NAME).read_text(encoding="utf-8"))
    _save(rt, {**shipped, "title": "立案（设计）"}, 0)
    with rt.transaction() as session:
        designed = form_drafts.deploy_form(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            stem=STEM,
            forms_dir=FORMS,
            max_bytes=2_000_000,
            clock=rt.clock,
            note="立案改名",
        )
    assert designed.deployed == [("accountability", 2)]
    with rt.transaction() as session:  # what `make run` does at every start
        seeded = deployment.deploy(
            session,
            files=deployment.collect([BPMN / "accountability.bpmn"]),
            form_source=deployment.FormFolder(FORMS),
            max_bytes=2_000_000,
            actor="cli",
            clock=rt.clock,
            note=CLI_NOTE,
            confirm=True,
        )
    assert (seeded.deployed, seeded.unchanged) == ([], [("accountability", 1)])
    with rt.db.reading() as session:
        assert deployment.latest(session, process_key="accountability").version == 2

"""`cadreflow migrate-instances` on the test database (both backends): the dry run lists who
can move and why not and writes nothing; the migration moves the movable; a non-designer and
a bad version are refused with one error line. The non-designer's refusal runs the real
console script; the rest its entry point in this process (tests/support/cli.py)."""

from __future__ import annotations

from tests import support
from tests.cli.test_task_cli import _run
from tests.support.world import make_world
from workflows.runtime import Runtime


def test_dry_run_then_migrate_from_the_command_line(rt: Runtime) -> None:
    make_world(rt, processes=["accountability"])
    support.deploy(rt, "migrating/v1/migrating.bpmn")
    at_register = support.start(rt, "migrating")
    at_review = support.start(rt, "migrating")
    support.complete(rt, support.task_named(rt, "register", at_review).id)
    support.deploy(rt, "migrating/v2/migrating.bpmn")
    support.deploy(rt, "migrating/v3/migrating.bpmn")
    before = support.instance(rt, at_register).version
    args = ["migrate-instances", "migrating", "--from", "1", "--to", "3"]

    dry = _run(rt, *args, "--dry-run", "--user", "designer.hf")
    assert dry.returncode == 0, dry.stderr
    assert f"instance {at_register}: 可以迁移" in dry.stdout
    assert f"instance {at_review}: 不能迁移：" in dry.stdout and "审核" in dry.stdout
    assert support.instance(rt, at_register).version == before  # nothing written

    done = _run(rt, *args, "--user", "designer.hf")
    assert done.returncode == 0, done.stderr
    assert "1 migrated, 1 refused" in done.stdout
    assert support.task_named(rt, "register", at_register)

    unknown = _run(rt, *args, "--instance", "99999999999", "--user", "designer.hf")
    assert unknown.returncode == 0, unknown.stderr
    assert "instance 99999999999: 不能迁移：实例 99999999999 不是在第 1 版上运行" in unknown.stdout

    refused = _run(rt, *args, "--user", "organization.hf", subprocess_=True)
    assert refused.returncode != 0 and "只有流程设计人员" in refused.stderr
    bad = _run(
        rt, "migrate-instances", "migrating", "--from", "3", "--to", "2", "--user", "designer.hf"
    )
    assert bad.returncode != 0 and "to_version" in bad.stderr

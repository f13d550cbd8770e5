"""`cadreflow blacklist correct` on the test database (both backends): the same rules as the
API and the pages, one `error:` line with the refused fields, nothing stored on refusal. The
first refusal runs the real console script; the rest its entry point in this process
(tests/support/cli.py)."""

from __future__ import annotations

import subprocess

from sqlalchemy import func, select

from tests.support.cli import cadreflow, cli_env
from tests.support.world import make_world
from workflows.cases import blacklist
from workflows.cases.models import BlacklistEntry
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime


def _run(rt: Runtime, *args: str, subprocess_: bool = False) -> subprocess.CompletedProcess[str]:
    env = cli_env(CADREFLOW_DATABASE_URL=rt.db.url, CLOCK_ADJUSTABLE="1")
    return cadreflow("blacklist", "correct", *args, env=env, subprocess_=subprocess_)


def _stored(rt: Runtime) -> tuple[int, int]:
    with rt.db.reading() as session:
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


def test_an_organization_clerk_corrects_an_entry_from_the_command_line(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    basis = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    other = world.open("clarification", data={"report": "反映张三违规", "trigger": "cadre_request"})
    with rt.db.transaction() as session:
        entry_id = blacklist.add_entry(
            session,
            person_name="王五",
            basis_case_id=basis.id,
            reviewer="discipline.hf",
            reason="捏造事实、虚假告发干部",
            entered_on=world.today(),
            clock=rt.clock,
        ).id
    common = ("--reviewer", "discipline.hf", "--person-name", "王武")
    refusals = [
        (
            (str(entry_id), "--user", "organization.hf", "--reason", "  ", *common),
            ["  reason: §5 更正失信黑名单条目须载明更正理由"],
        ),
        (
            (
                str(entry_id),
                "--user",
                "organization.hf",
                "--reason",
                "有误",
                "--reviewer",
                "organization.hf",
                "--person-name",
                "王武",
            ),
            ["  reviewer: 审核人不能是更正人本人"],
        ),
        (
            (
                str(entry_id),
                "--user",
                "organization.hf",
                "--reason",
                "有误",
                "--basis-case",
                "CQ-2099-000001",
                *common,
            ),
            ["  basis_case: §12 失信黑名单须有依据案件：案件 CQ-2099-000001 不存在"],
        ),
        (
            (str(entry_id), "--user", "discipline.hf", "--reason", "有误", *common),
            ["error: 更正失信黑名单条目须由组织部门办理"],
        ),
        (
            (str(entry_id), "--user", "organization.wh", "--reason", "有误", *common),
            [f"error: 失信黑名单第 {entry_id} 条不存在"],
        ),
        (
            ("999", "--user", "organization.hf", "--reason", "有误", *common),
            ["error: 失信黑名单第 999 条不存在"],
        ),
    ]
    for n, (args, lines) in enumerate(refusals):
        refused = _run(rt, *args, subprocess_=n == 0)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr
        for line in lines:
            assert line in refused.stderr, (args, refused.stderr)
    missing = _run(rt, str(entry_id), "--user", "organization.hf", *common)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    assert _stored(rt) == (1, 0)

    done = _run(
        rt,
        str(entry_id),
        "--user",
        "organization.hf",
        "--reason",
        "姓名及依据案件录入有误",
        "--basis-case",
        other.number,
        *common,
    )
    assert done.returncode == 0, done.stderr
    with rt.db.reading() as session:
        original, corrected = blacklist.register(session)
    assert (
        f"corrected entry {entry_id} (已更正); the correction is entry {corrected.id}:"
        in done.stdout
    )
    assert "王武" in done.stdout and "reason: 姓名及依据案件录入有误" in done.stdout
    assert (original.person_name, original.basis_case_id) == ("王五", basis.id)
    assert (
        corrected.person_name,
        corrected.basis_case_id,
        corrected.corrects_entry_id,
        corrected.reviewer,
    ) == ("王武", other.id, original.id, "discipline.hf")
    assert _stored(rt) == (2, 2)  # on the old basis case's timeline and the new one's

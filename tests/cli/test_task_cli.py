"""`cadreflow task consult|answer|withdraw|copy` on the test database (both backends): 加签
blocks `cadreflow complete` until the opinion is in; refusals are one `error:` line naming
why, and nothing is stored. The first refusal runs the real console script; the rest its
entry point in this process (tests/support/cli.py)."""

from __future__ import annotations

import subprocess

from sqlalchemy import func, select

from tests.support.cli import cadreflow, cli_env
from tests.support.world import make_world
from workflows.runtime import Runtime
from workflows.tasks.models import Consultation, TaskCopy

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _run(rt: Runtime, *args: str, subprocess_: bool = False) -> subprocess.CompletedProcess[str]:
    env = cli_env(CADREFLOW_DATABASE_URL=rt.db.url, CLOCK_ADJUSTABLE="1")
    return cadreflow(*args, env=env, subprocess_=subprocess_)


def _count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_consult_answer_and_copy_from_the_command_line(rt: Runtime) -> None:
    world = make_world(rt, processes=["accountability"])
    task_id = str(world.task(world.open("accountability", data=REGISTER), "register").id)

    refused = _run(
        rt,
        "task",
        "consult",
        task_id,
        "--user",
        "discipline.hf",
        "--ask",
        "discipline.wh",
        "--question",
        "意见？",
        subprocess_=True,
    )
    assert refused.returncode != 0 and "无权查看" in refused.stderr + refused.stdout
    assert _count(rt, Consultation) == 0

    asked = _run(
        rt,
        "task",
        "consult",
        task_id,
        "--user",
        "discipline.hf",
        "--ask",
        "discipline2.hf",
        "--question",
        "是否立案？",
    )
    assert asked.returncode == 0, asked.stderr
    assert "waiting for 第二审查员（合肥市·纪检监察机关）" in asked.stdout

    blocked = _run(rt, "complete", task_id, "--user", "discipline.hf")
    assert blocked.returncode != 0
    assert "第二审查员（合肥市·纪检监察机关） 的意见尚未回复" in blocked.stderr + blocked.stdout

    answered = _run(rt, "task", "answer", "1", "--user", "discipline2.hf", "--opinion", "同意立案")
    assert answered.returncode == 0, answered.stderr
    assert "every opinion is in" in answered.stdout

    copied = _run(
        rt,
        "task",
        "copy",
        task_id,
        "--user",
        "discipline.hf",
        "--to",
        "organization.hf,committee.hf",
        "--note",
        "请知悉",
    )
    assert copied.returncode == 0, copied.stderr
    assert _count(rt, TaskCopy) == 2
    assert _run(rt, "complete", task_id, "--user", "discipline.hf").returncode == 0

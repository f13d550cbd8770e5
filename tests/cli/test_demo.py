"""`cadreflow demo load` as `make run` runs it: a fresh SQLite file, the real bpmn/ and forms/,
the console script as a subprocess for `db upgrade`, then its entry point in this process
(tests/support/cli.py). Loading twice adds nothing the second time."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from tests.support.cli import cadreflow, cli_env
from workflows import demo
from workflows.cadres.models import Cadre
from workflows.cases.models import BlacklistEntry, CaseFile
from workflows.engine.db import Database
from workflows.engine.models import HumanTask, Instance
from workflows.org import service as org
from workflows.org.models import OrgUnit, User
from workflows.tasks.models import Notification, TaskUrge

COUNTED = (OrgUnit, User, Cadre, CaseFile, Instance, HumanTask, BlacklistEntry)


def _run(db_path: Path, *args: str, subprocess_: bool = False) -> subprocess.CompletedProcess[str]:
    env = cli_env(CADREFLOW_DATABASE_URL=f"sqlite:///{db_path}")
    return cadreflow(*args, env=env, subprocess_=subprocess_, timeout=300)


def _cli(db_path: Path, *args: str, subprocess_: bool = False) -> str:
    done = _run(db_path, *args, subprocess_=subprocess_)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _cli_failing(db_path: Path, *args: str) -> str:
    """stderr of a refused command (exit 1, no traceback)."""
    done = _run(db_path, *args)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def _counts(db: Database) -> dict[str, int]:
    with db.reading() as session:
        return {
            model.__name__: int(
                session.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in COUNTED
        }


def test_demo_load_is_idempotent_and_shows_overdue_work(tmp_path: Path) -> None:
    db_path = tmp_path / "demo.db"
    _cli(db_path, "db", "upgrade", subprocess_=True)
    _cli(db_path, "deploy", "bpmn/")
    first = _cli(db_path, "demo", "load")
    broken = [
        line
        for line in first.splitlines()
        if line.startswith("skipped") and "not deployed" not in line
    ]
    assert broken == [], first  # a deployed process refused its demo steps
    assert "loaded clarification_done" in first and "loaded periodic" in first
    db = Database(f"sqlite:///{db_path}")
    try:
        loaded = _counts(db)
        assert loaded["OrgUnit"] == len(demo.UNITS) == 7
        assert loaded["Cadre"] == len(demo.CADRES)
        assert loaded["User"] == len(demo.UNITS) * (8 + 2) + len(demo.CADRES)  # 2: second clerks
        assert loaded["CaseFile"] >= 3
        second = _cli(db_path, "demo", "load")
        assert "demo data already loaded" in second
        assert _counts(db) == loaded
        with db.reading() as session:
            user = org.user_by_name(session, "discipline.ah-hf")
            assert user.password_hash.startswith("$argon2")
            assert org.check_password(user, demo.PASSWORD)
            assert not org.check_password(user, "wrong-password")
            cadre_user = org.user_by_name(session, "wujing")
            assert (cadre_user.role, cadre_user.org_unit_code) == ("cadre", "ah-wh-fc")
        fired = _cli(db_path, "scheduler", "--once")
        assert re.search(r"fired \d+ timer", fired) and "time-limit-alarms:" in fired
        with db.reading() as session:
            overdue = session.execute(
                select(HumanTask).where(
                    HumanTask.state == "open",
                    HumanTask.task_spec == "investigate",
                    HumanTask.org_unit == "ah-hf",
                )
            ).scalar_one()
            escalation = session.execute(
                select(TaskUrge).where(
                    TaskUrge.task_id == overdue.id, TaskUrge.kind == "escalation"
                )
            ).scalar_one()
            told = session.execute(
                select(Notification.username).where(
                    Notification.task_id == overdue.id, Notification.kind == "overdue"
                )
            ).scalars()
            supervisor_tasks = session.execute(
                select(func.count())
                .select_from(HumanTask)
                .where(HumanTask.state == "open", HumanTask.role == "supervisor")
            ).scalar_one()
        # the overdue investigation stays with its investigator, urged and escalated with a
        # 督办期限; nothing was handed to the supervisor's lane
        assert overdue.assignee == "discipline.ah-hf" and overdue.due_at is not None
        assert overdue.supervision_due_at is not None and "督办期限" in escalation.note
        assert list(told) == ["discipline.ah-hf"]
        assert supervisor_tasks == 0
        _send_back_and_withdraw(db, db_path)
    finally:
        db.dispose()


def _send_back_and_withdraw(db: Database, db_path: Path) -> None:
    """`cadreflow task targets|return|withdraw` on the tolerance review the committee approves."""
    with db.reading() as session:
        approve = session.execute(
            select(HumanTask.id).where(HumanTask.state == "open", HumanTask.task_spec == "approve")
        ).scalar_one()
    offered = _cli(db_path, "task", "targets", str(approve), "--user", "committee.ah-wh")
    assert [line.split()[0] for line in offered.splitlines()] == ["determine", "analyse", "accept"]
    off_path = _cli_failing(
        db_path,
        "task",
        "return",
        str(approve),
        "--to",
        "notify",
        "--reason",
        "x",
        "--user",
        "committee.ah-wh",
    )
    assert off_path.startswith("error: 「notify」不是本步骤之前已经办理过的步骤"), off_path
    back = _cli(
        db_path,
        "task",
        "return",
        str(approve),
        "--to",
        "analyse",
        "--reason",
        "要件分析需补充",
        "--user",
        "committee.ah-wh",
    )
    assert "reopened for discipline.ah-wh" in back and f"cancelled [{approve}]" in back
    with db.reading() as session:
        accepted = session.execute(
            select(HumanTask.id).where(
                HumanTask.state == "completed",
                HumanTask.task_spec == "accept",
                HumanTask.org_unit == "ah-wh",
            )
        ).scalar_one()
    # the reopened analysis carries its earlier entries as a draft: the step before stays done
    refused = _cli_failing(
        db_path, "task", "withdraw", str(accepted), "--reason", "x", "--user", "discipline.ah-wh"
    )
    assert refused.startswith("error: 后续步骤「六个要件综合分析」已有人保存草稿"), refused

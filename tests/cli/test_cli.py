"""The `cadreflow` command line on a SQLite file.

Errors are one `error:` line plus indented field lines on stderr, a non-zero exit and
no traceback (unless --debug): that, the environment read at start and the scheduler's
lock are proven on the real console script (`script`); the scenarios run the same entry
point in this process (`cli`, `fresh`; tests/support/cli.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.cli import CADREFLOW, ROOT, cadreflow, cli_env

DATA = ROOT / "tests" / "data"
START_DATA = '{"registered_on": "2026-11-02"}'
VALID_FINDING = json.dumps(
    {"responsible": True, "severity": 2, "finding": "应负直接责任"}, ensure_ascii=False
)
INVALID_FINDING = json.dumps({"severity": 9, "finding": 1})

Run = Callable[..., subprocess.CompletedProcess[str]]


def _env(db_path: Path, *, adjustable: bool = True) -> dict[str, str]:
    env = cli_env(
        CADREFLOW_DATABASE_URL=f"sqlite:///{db_path}", CADREFLOW_FORMS_DIR="tests/data/forms"
    )
    if adjustable:
        env["CLOCK_ADJUSTABLE"] = "1"
    return env


def _runner(db_path: Path, *, subprocess_: bool = False) -> Run:
    def run(*args: str, adjustable: bool = True) -> subprocess.CompletedProcess[str]:
        return cadreflow(
            *args, env=_env(db_path, adjustable=adjustable), subprocess_=subprocess_, timeout=60
        )

    return run


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cadreflow.db"


@pytest.fixture
def fresh(db_path: Path) -> Run:
    """The CLI on a database file that does not exist yet."""
    return _runner(db_path)


@pytest.fixture
def cli(db_path: Path, sqlite_template: Path) -> Run:
    """The CLI on an empty, migrated database file."""
    shutil.copy(sqlite_template, db_path)
    return _runner(db_path)


@pytest.fixture
def script(db_path: Path, sqlite_template: Path) -> Run:
    """The real console script, as a subprocess, on an empty, migrated database file."""
    shutil.copy(sqlite_template, db_path)
    return _runner(db_path, subprocess_=True)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], code: int = 1) -> list[str]:
    """stderr lines of a refusal: one `error:` line, then only indented field lines."""
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines and lines[0].startswith("error: "), done.stderr
    assert all(line.startswith("  ") for line in lines[1:]), done.stderr
    return lines


def task_rows(output: str) -> dict[str, tuple[int, str]]:
    """`tasks` output as {element: (task id, state)}."""
    rows = {}
    for line in output.splitlines()[1:]:
        element = re.search(r"\[(\w+)\]", line)
        assert element, line
        fields = line.split()
        rows[element.group(1)] = (int(fields[0]), fields[2])
    return rows


def start_case(cli: Run) -> int:
    ok(cli("clock", "set", "2026-11-02"))
    ok(cli("deploy", str(DATA / "deadline.bpmn")))
    out = ok(cli("start", "deadline", "--data", START_DATA, "--org", "hefei"))
    found = re.search(r"started instance (\d+) of deadline version 1 \(running\)", out)
    assert found, out
    return int(found.group(1))


def test_a_case_runs_from_db_upgrade_to_audit_verify(fresh: Run, db_path: Path) -> None:
    assert not db_path.exists()
    assert "database is up to date" in ok(fresh("db", "upgrade"))
    assert db_path.exists()

    validated = ok(fresh("validate", str(DATA / "deadline.bpmn"), str(DATA / "recommendation.dmn")))
    assert "ok deadline (deadline.bpmn)" in validated
    assert "ok recommendation (recommendation.dmn)" in validated

    assert "2026-11-02T00:00:00+08:00" in ok(fresh("clock", "set", "2026-11-02"))
    assert "deployed deadline version 1" in ok(fresh("deploy", str(DATA / "deadline.bpmn")))
    assert "unchanged deadline version 1" in ok(fresh("deploy", str(DATA / "deadline.bpmn")))
    out = ok(fresh("start", "deadline", "--data", START_DATA, "--org", "hefei"))
    instance_id = int(re.search(r"started instance (\d+) of deadline version 1", out).group(1))

    queue = ok(fresh("tasks", "--role", "discipline"))
    assert "hefei" in queue and "2026-12-15" in queue  # due: 30 working days, end of day
    [(element, (task_id, state))] = task_rows(queue).items()
    assert (element, state) == ("investigate", "open")

    lines = refused(fresh("complete", str(task_id), "--user", "u", "--data", INVALID_FINDING))
    assert lines[0] == "error: 表单有 3 处需要修改"
    fields = sorted(line.split(":")[0].strip() for line in lines[1:])
    assert fields == ["finding", "responsible", "severity"]
    assert task_rows(ok(fresh("tasks", "--instance", str(instance_id), "--all"))) == {
        "investigate": (task_id, "open")
    }

    done = ok(fresh("complete", str(task_id), "--user", "u", "--data", VALID_FINDING))
    assert f"completed task {task_id}; instance {instance_id} is running" in done
    after = task_rows(ok(fresh("tasks", "--instance", str(instance_id), "--all")))
    assert after["investigate"] == (task_id, "completed")
    assert after["decide"][1] == "open"

    listed = ok(fresh("instances")).splitlines()
    assert any(line.split()[:3] == [str(instance_id), "deadline", "running"] for line in listed)

    verified = ok(fresh("audit", "verify"))
    assert "audit trail intact" in verified
    rows = int(re.search(r"(\d+) row\(s\) verified", verified).group(1))
    assert rows == 4  # clock.move, process.deploy, instance.start, task.complete


def _fired(out: str) -> dict[str, int]:
    """`scheduler --once` prints the timers fired, then each periodic job's count."""
    lines = out.strip().splitlines()
    found = re.fullmatch(r"fired (\d+) timer\(s\)", lines[0])
    assert found, out
    jobs = dict(line.split(": ") for line in lines[1:])
    assert set(jobs) == {
        "notification-sweep",
        "time-limit-alarms",
        "mail-delivery",
        "official-document-pdf",
    }, out
    return {"timers": int(found.group(1))} | {name: int(n) for name, n in jobs.items()}


def test_clock_advance_then_scheduler_once_fires_the_due_timers(cli: Run) -> None:
    instance_id = start_case(cli)
    assert _fired(ok(cli("scheduler", "--once")))["timers"] == 0
    assert "2026-12-17" in ok(cli("clock", "advance", "45d"))
    assert _fired(ok(cli("scheduler", "--once")))["timers"] >= 1
    tasks = task_rows(ok(cli("tasks", "--instance", str(instance_id), "--all")))
    assert tasks["investigate"][1] == "cancelled"  # the interrupting deadline timer fired
    assert tasks["escalate"][1] == "open"
    assert tasks["remind"][1] == "open"
    assert _fired(ok(cli("scheduler", "--once")))["timers"] == 0


@pytest.mark.parametrize(
    ("args", "first_line", "field_lines"),
    [
        (["start", "nosuchprocess"], "error: 流程 'nosuchprocess' 尚未部署", []),
        (["complete", "999", "--user", "u"], "error: 任务 999 不存在", []),
        (["start", "deadline", "--data", "not json"], "error: --data is not valid JSON", ["data"]),
        (["clock", "advance", "3x"], "error: 无法识别时长 '3x'", ["duration"]),
    ],
    ids=["unknown-process", "unknown-task", "data-not-json", "bad-duration"],
)
def test_errors_are_one_line_plus_field_lines_without_traceback(
    script: Run, args: list[str], first_line: str, field_lines: list[str]
) -> None:
    lines = refused(script(*args))
    assert lines[0] == first_line
    assert [line.split(":")[0].strip() for line in lines[1:]] == field_lines


def test_debug_shows_the_traceback(script: Run) -> None:
    done = script("--debug", "clock", "advance", "3x")
    assert done.returncode != 0
    assert "Traceback" in done.stderr
    assert "无法识别时长 '3x'" in done.stderr


def test_clock_advance_is_refused_without_clock_adjustable(script: Run, db_path: Path) -> None:
    lines = refused(script("clock", "advance", "1d", adjustable=False))
    assert lines == ["error: 只有设了 CLOCK_ADJUSTABLE=1 的部署（演示和测试）才能调整时钟"]
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM setting").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone() == (0,)


def test_a_second_scheduler_on_the_same_sqlite_file_refuses_to_start(
    script: Run, db_path: Path, tmp_path: Path
) -> None:
    lock = Path(f"{db_path}.scheduler.lock")
    log = (tmp_path / "scheduler.log").open("w")
    running = subprocess.Popen(
        [str(CADREFLOW), "scheduler", "--interval", "3600"],
        env=_env(db_path),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        give_up = time.monotonic() + 20
        while not (lock.exists() and lock.read_text().strip()):
            try:
                running.wait(timeout=0.05)  # also notices a scheduler that died
            except subprocess.TimeoutExpired:
                pass
            else:
                pytest.fail(
                    f"scheduler exited with {running.returncode}: "
                    f"{(tmp_path / 'scheduler.log').read_text()}"
                )
            assert time.monotonic() < give_up, "the scheduler never took its lock"
        assert lock.read_text().strip() == str(running.pid)

        lines = refused(script("scheduler", "--once"))
        assert "已有调度器在运行" in lines[0]
        assert f"进程 {running.pid}" in lines[0]
    finally:
        running.kill()
        running.wait(timeout=10)
        log.close()
    # the lock dies with its holder: the same command now runs
    assert _fired(ok(script("scheduler", "--once")))["timers"] == 0


def test_deploy_takes_a_note_prints_warnings_and_refuses_them_when_strict(
    cli: Run, db_path: Path
) -> None:
    sample = str(DATA / "lint" / "lint_warnings.bpmn")
    strict = cli("deploy", sample, "--strict")
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert "error: 有 2 个警告，确认后才能部署" in strict.stderr
    assert "lint_warnings.bpmn: check: 人工任务没有表单" in strict.stderr
    empty = cli("deploy", sample, "--note", "  ")
    assert empty.returncode == 1 and "note: 版本说明不能为空（1-500 字）" in empty.stderr
    out = ok(cli("deploy", sample, "--note", "试行缺表单的流程"))
    assert "deployed lint_warnings version 1" in out
    assert "warning lint_warnings.bpmn: check: 人工任务没有办理时限" in out
    ok(cli("deploy", str(DATA / "deadline.bpmn")))
    with closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(
            "SELECT process_key, note, deployed_by, confirmed_warnings FROM process_version"
            " ORDER BY process_key"
        ).fetchall()
    assert rows == [
        ("deadline", "命令行部署", "cli", 6),
        ("lint_warnings", "试行缺表单的流程", "cli", 2),
    ]


def test_validate_refuses_an_unconnected_task_naming_it(cli: Run) -> None:
    done = cli("validate", str(DATA / "lint" / "lint_unconnected.bpmn"))
    assert done.returncode == 1
    assert "error: 发现 2 个错误" in done.stderr
    assert "lint_unconnected.bpmn: stray: 人工任务没有连入的顺序流（未连接）" in done.stderr

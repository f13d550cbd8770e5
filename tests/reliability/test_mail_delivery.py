"""Mail delivery when things go wrong, against a real SMTP server (aiosmtpd) started by the test:
a server that is down costs each due mail one try and the mail goes out once the server is back
and its wait (1, 2, 4, 8, 16 minutes, on the shared clock) has passed; after six failed tries a
mail is given up and stays so; a refused recipient fails only its own mail; and three OS
processes delivering at once over one outbox (PostgreSQL) send every mail exactly once — with
a negative control that drops the row claim and shows the duplicates the test would catch."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import advance_clock
from tests.support import HASHER, start_line
from tests.support.smtp import SmtpServer, smtp_server
from tests.support.world import World, make_world
from workflows.org import admin
from workflows.runtime import Runtime
from workflows.tasks import mail, notifications, outbox
from workflows.tasks.outbox import MailOutbox

ROOT = Path(__file__).resolve().parents[2]
ADDRESSES = {"discipline.hf": "discipline.hf@example.gov.cn", "committee.hf": "committee@hf.cn"}
WORKERS = 3
MAILS = 90


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(delay=0.01) as server:  # a mail takes a while: concurrent senders overlap
        yield server


@pytest.fixture
def world(rt: Runtime) -> World:
    world = make_world(rt)
    with rt.transaction() as session:
        for username, address in ADDRESSES.items():
            admin.update_user(
                session,
                principal=admin.operator(session),
                username=username,
                email=address,
                clock=rt.clock,
                hasher=HASHER,
            )
    return world


@pytest.fixture
def mail_rt(rt: Runtime, world: World, smtp: SmtpServer) -> Iterator[Runtime]:
    yield Runtime(
        dataclasses.replace(rt.settings, smtp_url=smtp.url),
        db=rt.db,
        clock=rt.clock,
        hasher=HASHER,
    )
    outbox.configure(outbox.MailConfig())


def _notify(rt: Runtime, username: str = "discipline.hf", count: int = 1) -> None:
    with rt.transaction() as session:
        for n in range(count):
            notifications.notify(
                session,
                username=username,
                kind="urged",
                title=f"催办 {n + 1}",
                body="请尽快办理。",
                clock=rt.clock,
            )


def _rows(rt: Runtime) -> list[MailOutbox]:
    with rt.db.reading() as session:
        return list(session.execute(select(MailOutbox).order_by(MailOutbox.id)).scalars())


def _deliver(rt: Runtime) -> int:
    return mail.deliver(rt.db, clock=rt.clock)


def test_a_server_that_is_down_is_retried_with_backoff_once_it_is_back(
    mail_rt: Runtime, smtp: SmtpServer
) -> None:
    _notify(mail_rt)
    smtp.stop()
    assert _deliver(mail_rt) == 0
    [row] = _rows(mail_rt)
    assert (row.attempts, row.sent_at, row.failed_at) == (1, None, None)
    assert row.last_error and row.last_error.startswith("无法连接邮件服务器")
    assert row.next_attempt_at is not None
    wait = row.next_attempt_at - mail_rt.clock.now()
    assert 50 <= wait.total_seconds() <= 60  # one minute after the failed try

    smtp.start()
    advance_clock(mail_rt, seconds=30)
    assert _deliver(mail_rt) == 0 and smtp.received == []  # not due yet
    advance_clock(mail_rt, seconds=30)
    assert _deliver(mail_rt) == 1
    assert _deliver(mail_rt) == 0
    assert [m.rcpt_tos for m in smtp.received] == [(ADDRESSES["discipline.hf"],)]
    [sent] = _rows(mail_rt)
    assert sent.sent_at is not None and sent.attempts == 2 and sent.next_attempt_at is None


def test_the_waits_double_and_the_sixth_failure_gives_the_mail_up(
    mail_rt: Runtime, smtp: SmtpServer
) -> None:
    _notify(mail_rt)
    smtp.stop()
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert _deliver(mail_rt) == 0
        [row] = _rows(mail_rt)
        assert row.attempts == attempt
        if row.next_attempt_at is None:
            break
        waits.append(round((row.next_attempt_at - mail_rt.clock.now()).total_seconds() / 60))
        advance_clock(mail_rt, seconds=(row.next_attempt_at - mail_rt.clock.now()).total_seconds())
    assert waits == [1, 2, 4, 8, 16]
    assert row.attempts == 6 and row.failed_at is not None and row.sent_at is None

    smtp.start()
    advance_clock(mail_rt, hours=2)
    assert _deliver(mail_rt) == 0 and smtp.received == []  # given up: it waits for a person


def test_a_refused_recipient_fails_only_its_own_mail(mail_rt: Runtime, smtp: SmtpServer) -> None:
    smtp.handler.refused.add(ADDRESSES["committee.hf"])
    _notify(mail_rt, "committee.hf")
    _notify(mail_rt, "discipline.hf", count=2)

    assert _deliver(mail_rt) == 2
    refused, *sent = _rows(mail_rt)
    assert refused.sent_at is None and refused.attempts == 1
    assert refused.last_error and refused.last_error.startswith("收件人被拒绝")
    assert "550" in refused.last_error
    assert all(r.sent_at is not None for r in sent)
    assert [m.rcpt_tos for m in smtp.received] == [(ADDRESSES["discipline.hf"],)] * 2


# -- several processes -------------------------------------------------------------------
@pytest.fixture
def pg_mail_rt(mail_rt: Runtime) -> Runtime:
    if mail_rt.db.dialect != "postgresql":
        pytest.skip("SQLite admits one writer and one scheduler: the race is PostgreSQL's")
    return mail_rt


def _run_workers(rt: Runtime, smtp: SmtpServer, tmp_path: Path, mode: str) -> list[int]:
    """Runs the delivery job in WORKERS processes at once; how many mails each sent."""
    start_file = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.mail_worker",
                mode,
                rt.db.url,
                smtp.url,
                str(start_file),
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    start_line.release(start_file, len(procs))
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"worker failed: {out}\n{err[-3000:]}"
    counts: list[dict[str, Any]] = [json.loads(out) for out, _ in outputs]
    return [int(c["sent"]) for c in counts]


@pytest.mark.slow
def test_three_processes_delivering_at_once_send_every_mail_exactly_once(
    pg_mail_rt: Runtime, smtp: SmtpServer, tmp_path: Path
) -> None:
    _notify(pg_mail_rt, count=MAILS)

    sent = _run_workers(pg_mail_rt, smtp, tmp_path, "product")

    ids = sorted(m.message["Message-ID"] for m in smtp.received)
    assert sum(sent) == len(smtp.received) == MAILS
    assert sum(1 for n in sent if n) >= 2, f"one process sent everything: {sent}"
    assert len(set(ids)) == MAILS
    rows = _rows(pg_mail_rt)
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows)
    assert {f"<mail-{r.id}." for r in rows} == {i.split(".")[0] + "." for i in ids}


@pytest.mark.slow
def test_negative_control_without_the_row_claim_mails_go_out_twice_and_the_test_sees_it(
    pg_mail_rt: Runtime, smtp: SmtpServer, tmp_path: Path
) -> None:
    _notify(pg_mail_rt, count=MAILS)

    sent = _run_workers(pg_mail_rt, smtp, tmp_path, "unclaimed")

    ids = [m.message["Message-ID"] for m in smtp.received]
    assert len(set(ids)) == MAILS  # every mail arrived, and some more than once:
    assert sum(sent) == len(ids) > MAILS, "no mail was sent twice: the race was not exercised"

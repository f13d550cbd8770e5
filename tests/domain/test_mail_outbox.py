"""邮件发件箱: a notice's e-mail is queued in the notice's own transaction (none when it is
rolled back, deduplicated away, or the user has no address, is inactive, or mail is off) and
delivered to a real SMTP server (aiosmtpd, started by the test) once: one e-mail per notice,
to the user's address, with the notice's title, text and links."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tests.support import HASHER
from tests.support.smtp import SmtpServer, smtp_server
from tests.support.world import World, make_world
from workflows import access
from workflows.errors import ValidationFailed
from workflows.org import admin
from workflows.runtime import Runtime
from workflows.tasks import mail, notifications, outbox
from workflows.tasks import service as work
from workflows.tasks.models import Notification
from workflows.tasks.outbox import MailOutbox

ADDRESSES = {
    "discipline.hf": "discipline.hf@example.gov.cn",
    "discipline2.hf": "second.reviewer@example.gov.cn",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def mail_runtime(rt: Runtime, url: str | None) -> Runtime:
    """The test's runtime with mail configured (or not): a Runtime built after the test's own,
    on its database and clock, so its mail settings are this process's."""
    return Runtime(
        dataclasses.replace(rt.settings, smtp_url=url, base_url="https://cadreflow.example.cn/"),
        db=rt.db,
        clock=rt.clock,
        hasher=HASHER,
    )


@pytest.fixture
def world(rt: Runtime) -> World:
    world = make_world(rt)
    with rt.transaction() as session:
        operator = admin.operator(session)
        for username, address in ADDRESSES.items():
            admin.update_user(
                session,
                principal=operator,
                username=username,
                email=address,
                clock=rt.clock,
                hasher=HASHER,
            )
    return world


@pytest.fixture
def mail_rt(rt: Runtime, world: World, smtp: SmtpServer) -> Iterator[Runtime]:
    yield mail_runtime(rt, smtp.url)
    outbox.configure(outbox.MailConfig())


def _notify(rt: Runtime, username: str, *, dedupe: str | None = None) -> int | None:
    with rt.transaction() as session:
        return notifications.notify(
            session,
            username=username,
            kind="urged",
            title="催办：责任调查（合肥〔2026〕1号）",
            body="请尽快办理。",
            task_id=41,
            case_id=7,
            dedupe=dedupe,
            clock=rt.clock,
        )


def _rows(rt: Runtime) -> list[MailOutbox]:
    with rt.db.reading() as session:
        return list(session.execute(select(MailOutbox).order_by(MailOutbox.id)).scalars())


def test_a_notice_is_mailed_once_to_its_users_address_with_its_text_and_links(
    mail_rt: Runtime, smtp: SmtpServer
) -> None:
    notice = _notify(mail_rt, "discipline.hf")

    [row] = _rows(mail_rt)
    assert (row.notification_id, row.username, row.address) == (
        notice,
        "discipline.hf",
        ADDRESSES["discipline.hf"],
    )
    assert row.next_attempt_at is not None and row.next_attempt_at <= mail_rt.clock.now()
    assert row.sent_at is None
    assert mail.deliver(mail_rt.db, clock=mail_rt.clock) == 1
    assert mail.deliver(mail_rt.db, clock=mail_rt.clock) == 0

    [got] = smtp.received
    assert got.rcpt_tos == (ADDRESSES["discipline.hf"],)
    assert got.mail_from == "cadreflow@localhost"
    assert got.subject == "【cadreflow】催办：责任调查（合肥〔2026〕1号）"
    assert "请尽快办理。" in got.text
    assert "办理任务：https://cadreflow.example.cn/tasks/41" in got.text
    assert "查看案件：https://cadreflow.example.cn/cases/7" in got.text
    assert got.message["Message-ID"].startswith(f"<mail-{row.id}.")
    [sent] = _rows(mail_rt)
    assert sent.sent_at is not None and sent.attempts == 1
    assert sent.next_attempt_at is None and sent.failed_at is None


def test_an_urge_mails_everyone_it_notifies_one_mail_per_notice(
    mail_rt: Runtime, world: World, smtp: SmtpServer
) -> None:
    """立案 waits in 合肥市's discipline pool: the supervisor's 催办 notifies both of its clerks,
    and each gets one e-mail of their own notice."""
    case = world.open(
        "accountability",
        data={"source": "audit", "facts": "审计发现违规拨付专项资金", "evidence": "审计报告"},
    )
    task = world.task(case, "register")
    with mail_rt.transaction() as session:
        supervisor = access.principal_for(session, username="supervisor.hf")
        work.urge(
            session, principal=supervisor, task_id=task.id, note="请本周内立案", clock=mail_rt.clock
        )

    assert mail.deliver(mail_rt.db, clock=mail_rt.clock) == 2
    with mail_rt.db.reading() as session:
        notices = session.execute(
            select(Notification.id, Notification.username).where(Notification.kind == "urged")
        ).all()
    assert sorted(u for _, u in notices) == sorted(ADDRESSES)
    assert sorted((r.notification_id, r.username) for r in _rows(mail_rt)) == sorted(notices)
    assert sorted(m.rcpt_tos[0] for m in smtp.received) == sorted(ADDRESSES.values())
    assert all(m.subject.startswith("【cadreflow】催办：") for m in smtp.received)
    assert all(f"/tasks/{task.id}" in m.text for m in smtp.received)


def test_a_rolled_back_change_takes_its_mail_with_it(mail_rt: Runtime) -> None:
    with pytest.raises(RuntimeError), mail_rt.transaction() as session:
        notifications.notify(
            session,
            username="discipline.hf",
            kind="urged",
            title="催办",
            body="",
            clock=mail_rt.clock,
        )
        raise RuntimeError("the change fails after its notice")
    assert _rows(mail_rt) == []


def test_a_deduplicated_notice_queues_no_second_mail(mail_rt: Runtime) -> None:
    assert _notify(mail_rt, "discipline.hf", dedupe="urged:41:discipline.hf") is not None
    assert _notify(mail_rt, "discipline.hf", dedupe="urged:41:discipline.hf") is None
    assert len(_rows(mail_rt)) == 1


def test_no_mail_without_an_address_for_an_inactive_user_or_while_mail_is_off(
    rt: Runtime, world: World, smtp: SmtpServer
) -> None:
    mail_rt = mail_runtime(rt, smtp.url)
    with mail_rt.transaction() as session:
        admin.update_user(
            session,
            principal=admin.operator(session),
            username="discipline2.hf",
            active=False,
            clock=rt.clock,
            hasher=HASHER,
        )
    assert _notify(mail_rt, "discipline.hf") is not None
    assert _notify(mail_rt, "discipline2.hf") is not None  # inactive
    assert _notify(mail_rt, "organization.hf") is not None  # no address
    assert [r.username for r in _rows(mail_rt)] == ["discipline.hf"]

    off = mail_runtime(rt, None)
    assert _notify(off, "discipline.hf") is not None
    assert len(_rows(off)) == 1
    assert mail.deliver(off.db, clock=off.clock) == 0 and smtp.received == []
    with off.db.reading() as session:
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 4


@pytest.mark.parametrize(
    "address",
    ["not-an-address", "张三@example.cn", "a@b", "a..b@example.cn", "x" * 250 + "@example.cn"],
)
def test_an_invalid_address_is_refused_naming_email(
    rt: Runtime, world: World, address: str
) -> None:
    with pytest.raises(ValidationFailed) as refused, rt.transaction() as session:
        admin.update_user(
            session,
            principal=admin.operator(session),
            username="organization.hf",
            email=address,
            clock=rt.clock,
            hasher=HASHER,
        )
    assert [e["field"] for e in refused.value.errors] == ["email"]
    assert "邮箱地址" in refused.value.errors[0]["message"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.cn", outbox.SmtpServer("mail.example.cn", 25)),
        ("smtps://mail.example.cn", outbox.SmtpServer("mail.example.cn", 465, tls=True)),
        (
            "smtp://me%40example.cn:p%3Ass@mail.example.cn:587?starttls=1",
            outbox.SmtpServer("mail.example.cn", 587, False, True, "me@example.cn", "p:ss"),
        ),
    ],
)
def test_smtp_urls(url: str, expected: outbox.SmtpServer) -> None:
    assert outbox.parse_smtp_url(url) == expected
    assert "p:ss" not in repr(outbox.parse_smtp_url(url))


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.cn",
        "smtp://",
        "smtp://mail.example.cn:99999",
        "smtp://mail.example.cn?startls=1",
        "smtps://mail.example.cn?starttls=1",
    ],
)
def test_bad_smtp_urls_are_refused_at_start_naming_the_variable(url: str) -> None:
    with pytest.raises(ValueError, match="CADREFLOW_SMTP_URL"):
        outbox.parse_smtp_url(url)

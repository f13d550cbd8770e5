"""邮件 (/admin/mail) and the user forms' 邮箱 over the test client: an administrator gives a
user an address (a wrong one comes back beside its field), sees the notices' e-mails of their
units with each failure's reason, and retries a failed one with the form's CSRF token; the page
says when the deployment sends no mail; others are refused."""

from __future__ import annotations

import dataclasses
import html as html_lib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support import HASHER
from tests.support.apps import app_for
from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.org.models import User
from workflows.runtime import Runtime
from workflows.tasks import notifications, outbox
from workflows.tasks.outbox import MailOutbox

ADDRESS = "discipline.hf@example.gov.cn"


def _text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def mail_rt(rt: Runtime, world: World) -> Iterator[Runtime]:
    """Mail configured towards a port nobody listens on: every send fails."""
    yield Runtime(
        dataclasses.replace(rt.settings, smtp_url="smtp://127.0.0.1:9"),
        db=rt.db,
        clock=rt.clock,
        hasher=HASHER,
    )
    outbox.configure(outbox.MailConfig())


@pytest.fixture
def app(mail_rt: Runtime) -> Flask:
    return app_for(mail_rt)


def _address(rt: Runtime, username: str = "discipline.hf") -> str | None:
    with rt.db.reading() as session:
        return session.execute(select(User.email).where(User.username == username)).scalar_one()


def _failed_mail(rt: Runtime) -> int:
    """A notice's e-mail to discipline.hf, given up after six tries."""
    with rt.transaction() as session:
        session.execute(
            User.__table__.update().where(User.username == "discipline.hf").values(email=ADDRESS)
        )
        notifications.notify(
            session,
            username="discipline.hf",
            kind="urged",
            title="催办：责任调查",
            body="请尽快办理。",
            clock=rt.clock,
        )
        row = session.execute(select(MailOutbox)).scalar_one()
        row.attempts, row.failed_at, row.next_attempt_at = 6, rt.clock.now(), None
        row.last_error = "无法连接邮件服务器：ConnectionRefusedError"
        return row.id


def test_an_administrator_sets_and_clears_a_users_address_on_the_edit_form(
    logged_in: Any, mail_rt: Runtime
) -> None:
    client, csrf = logged_in("admin.hf")
    form = {"display_name": "discipline hf", "role": "discipline", "org_unit": "ah-hf"}
    form |= {"active": "1", "csrf_token": csrf}
    page = _text(client.get("/admin/users/discipline.hf"))
    assert 'name="email"' in page and 'type="email"' in page

    wrong = client.post("/admin/users/discipline.hf", data={**form, "email": "审查员@hf"})
    assert wrong.status_code == 422
    assert 'id="email-error"' in _text(wrong) and "邮箱地址格式不正确" in _text(wrong)
    assert 'value="审查员@hf"' in _text(wrong)  # the value is kept
    assert _address(mail_rt) is None

    saved = client.post("/admin/users/discipline.hf", data={**form, "email": ADDRESS})
    assert saved.status_code == 303 and _address(mail_rt) == ADDRESS
    assert f'value="{ADDRESS}"' in _text(client.get("/admin/users/discipline.hf"))
    cleared = client.post("/admin/users/discipline.hf", data={**form, "email": ""})
    assert cleared.status_code == 303 and _address(mail_rt) is None


def test_a_new_user_gets_an_address_or_the_field_says_why_not(
    logged_in: Any, mail_rt: Runtime
) -> None:
    client, csrf = logged_in("admin.hf")
    form = {
        "username": "clerk.fd",
        "display_name": "肥东县审查员",
        "role": "discipline",
        "org_unit": "ah-hf-fd",
        "password": "long-enough-1",
        "password_confirm": "long-enough-1",
        "csrf_token": csrf,
    }
    assert 'name="email"' in _text(client.get("/admin/users/new"))
    wrong = client.post("/admin/users/new", data={**form, "email": "x" * 250 + "@fd.gov.cn"})
    assert wrong.status_code == 422 and "邮箱地址不能超过 254 个字符" in _text(wrong)
    made = client.post("/admin/users/new", data={**form, "email": "clerk@fd.gov.cn"})
    assert made.status_code == 303 and _address(mail_rt, "clerk.fd") == "clerk@fd.gov.cn"
    other = client.post("/admin/users/new", data={**form, "username": "clerk2.fd"})
    assert other.status_code == 303 and _address(mail_rt, "clerk2.fd") is None


def test_the_mail_page_lists_failures_and_retries_with_the_csrf_token(
    logged_in: Any, mail_rt: Runtime
) -> None:
    mail_id = _failed_mail(mail_rt)
    client, csrf = logged_in("admin.hf")
    assert 'href="/admin/mail"' in _text(client.get("/admin"))
    page = client.get("/admin/mail?status=failed")
    assert page.status_code == 200
    text = _text(page)
    assert (
        f'id="mail-{mail_id}"' in text and ADDRESS in text and "【cadreflow】催办：责任调查" in text
    )
    assert "无法连接邮件服务器" in text and "6 / 6 次" in text
    assert f'action="/admin/mail/{mail_id}/retry"' in text
    assert "未配置邮件" not in text

    assert client.post(f"/admin/mail/{mail_id}/retry").status_code == 403  # no token
    done = client.post(
        f"/admin/mail/{mail_id}/retry",
        data={"csrf_token": csrf, "next": "/admin/mail?status=pending"},
    )
    assert done.status_code == 303 and done.headers["Location"] == "/admin/mail?status=pending"
    pending = _text(client.get("/admin/mail?status=pending"))
    assert f'id="mail-{mail_id}"' in pending and "0 / 6 次" in pending
    assert f'action="/admin/mail/{mail_id}/retry"' not in pending
    again = client.post(f"/admin/mail/{mail_id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409 and "无需重试" in _text(again)
    with mail_rt.db.reading() as session:
        assert session.execute(
            select(AuditEvent.actor).where(AuditEvent.action == "mail.retry")
        ).scalars().all() == ["admin.hf"]


def test_other_units_administrators_see_none_of_it_and_clerks_are_refused(
    logged_in: Any, mail_rt: Runtime
) -> None:
    mail_id = _failed_mail(mail_rt)
    client, csrf = logged_in("admin.wh")
    assert f'id="mail-{mail_id}"' not in _text(client.get("/admin/mail"))
    assert client.post(f"/admin/mail/{mail_id}/retry", data={"csrf_token": csrf}).status_code == (
        404
    )
    clerk, _ = logged_in("discipline.hf")
    assert clerk.get("/admin/mail").status_code == 403


def test_the_page_says_when_no_mail_is_sent(rt: Runtime, world: World, logged_in: Any) -> None:
    outbox.configure(outbox.MailConfig())
    client, _ = logged_in("admin.hf")
    text = _text(client.get("/admin/mail"))
    assert "本部署未配置邮件" in text and "没有邮件" in text

"""邮件 through the API: administrators give users an address (refused, naming `email`, when it
is not one), see the notices' e-mails of their units' users with each failure's reason
(GET /admin/mail, ?status=), and put a failed one back to pending (POST …/retry, audited);
a retry of a mail that has not failed is a 409, of an unknown or another unit's mail a 404."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server import create_app
from tests.conftest import advance_clock
from tests.support import HASHER
from tests.support.apps import app_for
from tests.support.smtp import SmtpServer, smtp_server
from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime
from workflows.tasks import mail, notifications, outbox

ADDRESS = "discipline.hf@example.gov.cn"
NEW_USER = {
    "username": "clerk.fd",
    "display_name": "肥东县审查员",
    "password": "long-enough-1",
    "role": "discipline",
    "org_unit": "ah-hf-fd",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_rt(rt: Runtime, world: World, smtp: SmtpServer) -> Iterator[Runtime]:
    """The test's runtime with mail configured, on its database and clock."""
    yield Runtime(
        dataclasses.replace(rt.settings, smtp_url=smtp.url),
        db=rt.db,
        clock=rt.clock,
        hasher=HASHER,
    )
    outbox.configure(outbox.MailConfig())


@pytest.fixture
def app(mail_rt: Runtime) -> Flask:
    return app_for(mail_rt)


def _notify(rt: Runtime, username: str = "discipline.hf") -> int:
    with rt.transaction() as session:
        found = notifications.notify(
            session,
            username=username,
            kind="urged",
            title="催办：责任调查",
            body="请尽快办理。",
            task_id=5,
            clock=rt.clock,
        )
    assert found is not None
    return found


def _give_address(
    login: Any, username: str = "discipline.hf", address: str = ADDRESS, by: str = "admin.hf"
) -> None:
    response = _patch(login(by), username, {"email": address})
    assert response.status_code == 200 and response.get_json()["email"] == address


def _patch(api: Any, username: str, body: dict[str, Any]) -> Any:
    return api.client.patch(
        f"/api/v1/admin/users/{username}", json=body, headers={"X-CSRF-Token": api.csrf}
    )


def test_a_user_is_created_and_changed_with_an_address_and_can_lose_it(
    login: Any, mail_rt: Runtime
) -> None:
    api = login("admin.hf")
    created = api.post("/admin/users", json={**NEW_USER, "email": " clerk@feidong.gov.cn "})
    assert created.status_code == 201 and created.get_json()["email"] == "clerk@feidong.gov.cn"
    assert _patch(api, "clerk.fd", {"email": "new@feidong.gov.cn"}).get_json()["email"] == (
        "new@feidong.gov.cn"
    )
    assert _patch(api, "clerk.fd", {"email": ""}).get_json()["email"] is None
    with mail_rt.db.reading() as session:
        changes = [
            json.loads(row.detail)
            for row in session.execute(
                select(AuditEvent)
                .where(AuditEvent.object_id == "clerk.fd", AuditEvent.action.like("admin.user.%"))
                .order_by(AuditEvent.id)
            ).scalars()
        ]
    assert changes[0]["email"] == "clerk@feidong.gov.cn"
    assert changes[1]["changes"]["email"] == {
        "from": "clerk@feidong.gov.cn",
        "to": "new@feidong.gov.cn",
    }
    assert changes[2]["changes"]["email"] == {"from": "new@feidong.gov.cn", "to": None}


@pytest.mark.parametrize(
    "address",
    ["clerk", "clerk@", "@feidong.gov.cn", "clerk@feidong", "a b@feidong.gov.cn"]
    + ["x" * 64 + "y@feidong.gov.cn", "clerk@" + "a" * 250 + ".cn", "审查员@feidong.gov.cn"],
)
def test_an_invalid_address_is_refused_naming_email_and_nothing_is_stored(
    login: Any, address: str
) -> None:
    api = login("admin.hf")
    created = api.post("/admin/users", json={**NEW_USER, "email": address})
    assert created.status_code == 422, created.get_json()
    body = created.get_json()
    assert set(body["errors"]) == {"email"} and "邮箱地址" in body["errors"]["email"][0]
    assert _patch(api, "clerk.fd", {"display_name": "x"}).status_code == 404  # not created
    changed = _patch(api, "discipline.hf", {"email": address, "display_name": "改了吗"})
    assert changed.status_code == 422 and set(changed.get_json()["errors"]) == {"email"}
    users = {u["username"]: u for u in api.get("/admin/users").get_json()}
    assert users["discipline.hf"]["email"] is None
    assert users["discipline.hf"]["display_name"] == "discipline hf"


def test_failures_are_visible_and_a_given_up_mail_is_retried_once_audited(
    login: Any, mail_rt: Runtime, smtp: SmtpServer
) -> None:
    _give_address(login)
    _notify(mail_rt)
    smtp.stop()
    admin = login("admin.hf")

    assert mail.deliver(mail_rt.db, clock=mail_rt.clock) == 0
    listed = admin.get("/admin/mail?status=pending").get_json()
    assert listed["enabled"] is True and listed["total"] == 1
    [item] = listed["items"]
    assert (item["username"], item["address"], item["status"], item["status_name"]) == (
        "discipline.hf",
        ADDRESS,
        "pending",
        "待发送",
    )
    assert (item["attempts"], item["max_attempts"], item["may_retry"]) == (1, 6, False)
    assert item["last_error"].startswith("无法连接邮件服务器") and item["next_attempt_at"]
    assert item["subject"] == "【cadreflow】催办：责任调查" and "请尽快办理。" in item["body"]
    assert admin.post(f"/admin/mail/{item['id']}/retry").status_code == 409  # still pending

    for minutes in mail.BACKOFF_MINUTES:
        advance_clock(mail_rt, minutes=minutes)
        assert mail.deliver(mail_rt.db, clock=mail_rt.clock) == 0
    admin = login("admin.hf")  # half an hour later: a new session
    [failed] = admin.get("/admin/mail?status=failed").get_json()["items"]
    assert (failed["attempts"], failed["may_retry"], failed["next_attempt_at"]) == (6, True, None)
    assert failed["failed_at"] and failed["status_name"] == "发送失败"
    assert admin.get("/admin/mail?status=pending").get_json()["total"] == 0

    retried = admin.post(f"/admin/mail/{item['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["attempts"]) == ("pending", 0)
    again = admin.post(f"/admin/mail/{item['id']}/retry")
    assert again.status_code == 409 and "无需重试" in again.get_json()["detail"]
    with mail_rt.db.reading() as session:
        [row] = session.execute(
            select(AuditEvent).where(AuditEvent.action == "mail.retry")
        ).scalars()
    assert (row.actor, row.object_type, row.object_id) == ("admin.hf", "mail", str(item["id"]))
    assert json.loads(row.detail)["attempts"] == 6

    smtp.start()
    assert mail.deliver(mail_rt.db, clock=mail_rt.clock) == 1
    [sent] = admin.get("/admin/mail?status=sent").get_json()["items"]
    assert (sent["id"], sent["attempts"], sent["may_retry"]) == (item["id"], 1, False)
    assert [m.rcpt_tos for m in smtp.received] == [(ADDRESS,)]
    assert admin.post(f"/admin/mail/{item['id']}/retry").status_code == 409  # sent


def test_administrators_see_their_units_mail_others_are_refused_or_find_nothing(
    login: Any, mail_rt: Runtime
) -> None:
    _give_address(login)
    _give_address(login, "discipline.wh", "discipline.wh@example.gov.cn", by="admin.wh")
    _notify(mail_rt, "discipline.hf")
    _notify(mail_rt, "discipline.wh")

    mine = login("admin.hf").get("/admin/mail").get_json()
    assert [i["username"] for i in mine["items"]] == ["discipline.hf"]
    theirs = login("admin.wh").get("/admin/mail").get_json()["items"]
    assert [i["username"] for i in theirs] == ["discipline.wh"]
    other_units = theirs[0]["id"]
    assert login("admin.hf").post(f"/admin/mail/{other_units}/retry").status_code == 404
    assert login("admin.hf").post("/admin/mail/999999/retry").status_code == 404
    assert login("admin.hf").post(f"/admin/mail/{2**40}/retry").status_code == 404
    assert login("discipline.hf").get("/admin/mail").status_code == 403
    assert login("supervisor.hf").post(f"/admin/mail/{other_units}/retry").status_code == 403
    assert login("admin.hf").get("/admin/mail?status=lost").status_code == 422
    page = login("admin.hf").get("/admin/mail?per_page=1&page=2").get_json()
    assert (page["total"], page["items"]) == (1, [])


def test_without_smtp_the_list_says_mail_is_off_and_nothing_is_queued(
    rt: Runtime, world: World
) -> None:
    app = create_app(rt, TESTING=True)
    client = app.test_client()
    login = client.post(
        "/api/v1/auth/login", json={"username": "admin.hf", "password": "demo-pass-1"}
    )
    csrf = login.get_json()["csrf_token"]
    client.patch(
        "/api/v1/admin/users/discipline.hf",
        json={"email": ADDRESS},
        headers={"X-CSRF-Token": csrf},
    )
    _notify(rt)
    body = client.get("/api/v1/admin/mail").get_json()
    assert (body["enabled"], body["total"], body["items"]) == (False, 0, [])

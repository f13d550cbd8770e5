"""系统管理 over HTTP: users and units within the admin's subtree, calendar, deadline settings,
the clock, and the audit trail."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server import create_app
from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime

NEW_USER = {
    "username": "clerk.fd",
    "display_name": "肥东县纪委干部",
    "password": "long-enough-1",
    "role": "discipline",
    "org_unit": "ah-hf-fd",
}
REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _last_audit(rt: Runtime, action: str) -> AuditEvent:
    with rt.db.reading() as session:
        return session.execute(
            select(AuditEvent)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users",
        "/admin/roles",
        "/admin/org-units",
        "/admin/calendar",
        "/admin/settings/deadlines",
        "/admin/clock",
        "/admin/audit",
    ],
)
def test_only_admins_administer(world: World, login: Any, path: str) -> None:
    for user in ("discipline.hf", "supervisor.hf", "designer.hf"):
        response = login(user).get(path)
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden", (
            user,
            path,
        )


def test_writes_by_non_admins_are_refused(world: World, login: Any) -> None:
    api = login("supervisor.hf")
    assert api.post("/admin/users", json=NEW_USER).status_code == 403
    assert api.put("/admin/calendar/days/2027-10-08", json={"is_workday": False}).status_code == 403
    assert api.put("/admin/settings/deadlines", json={"appeal_window_months": 2}).status_code == 403
    assert api.post("/admin/clock", json={"advance": "1d"}).status_code == 403
    assert api.post("/admin/audit/verify").status_code == 403


def test_admin_lists_the_users_and_units_of_their_subtree(world: World, login: Any) -> None:
    api = login("admin.hf")
    names = {u["username"] for u in api.get("/admin/users").get_json()}
    assert {"discipline.hf", "zhang", "admin.hf"} <= names and "discipline.wh" not in names
    assert [u["code"] for u in api.get("/admin/org-units").get_json()] == ["ah-hf", "ah-hf-fd"]
    roles = api.get("/admin/roles").get_json()
    assert {"key": "discipline", "name": "纪检监察机关"} in roles and len(roles) == 9


def test_create_user_who_can_then_log_in(world: World, login: Any, rt: Runtime) -> None:
    response = login("admin.hf").post("/admin/users", json=NEW_USER)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["username"], body["org_unit"], body["active"], body["role_name"]) == (
        "clerk.fd",
        "ah-hf-fd",
        True,
        "纪检监察机关",
    )
    assert "password" not in body
    assert login("clerk.fd", "long-enough-1").get("/me").get_json()["org_unit"] == "ah-hf-fd"
    row = _last_audit(rt, "admin.user.create")
    detail = json.loads(row.detail)
    assert (row.actor, row.object_id, detail["by"]["role"]) == ("admin.hf", "clerk.fd", "admin")
    assert "long-enough-1" not in row.detail


def test_create_user_bad_input_names_the_field(world: World, login: Any) -> None:
    api = login("admin.hf")
    bad = api.post(
        "/admin/users",
        json={**NEW_USER, "username": "有 空格", "password": "short", "role": "king"},
    )
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {
        "username",
        "password",
        "role",
    }
    cases = [
        ({"username": "discipline.hf"}, "username"),  # taken
        ({"org_unit": "ah-wh"}, "org_unit"),  # another city: not theirs
        ({"org_unit": "nowhere"}, "org_unit"),
        ({"role": "cadre"}, "cadre_id"),  # a cadre's account names the cadre record
        ({"role": "cadre", "cadre_id": 999}, "cadre_id"),
        ({"role": "cadre", "cadre_id": 2**31}, "cadre_id"),
    ]
    for change, field in cases:
        response = api.post("/admin/users", json={**NEW_USER, **change})
        assert response.status_code == 422 and set(response.get_json()["errors"]) == {field}, change
    assert (
        api.post(
            "/admin/users", json={**NEW_USER, "role": "cadre", "cadre_id": world.cadres["li"]}
        ).status_code
        == 201
    )


def test_update_user_and_reset_password_ends_their_sessions(
    world: World, login: Any, rt: Runtime
) -> None:
    clerk = login("discipline2.hf")
    api = login("admin.hf")
    response = api.client.patch(
        "/api/v1/admin/users/discipline2.hf",
        headers={"X-CSRF-Token": api.csrf},
        json={"display_name": "第二调查员", "org_unit": "ah-hf-fd", "password": "brand-new-pass"},
    )
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["display_name"], response.get_json()["org_unit"]) == (
        "第二调查员",
        "ah-hf-fd",
    )
    assert clerk.get("/me").status_code == 401  # the old session ended with the reset
    assert login("discipline2.hf", "brand-new-pass").get("/me").get_json()["org_unit"] == "ah-hf-fd"
    changes = json.loads(_last_audit(rt, "admin.user.update").detail)["changes"]
    assert changes["password"] == "reset" and changes["org_unit"] == {
        "from": "ah-hf",
        "to": "ah-hf-fd",
    }
    assert "brand-new-pass" not in json.dumps(changes)


def test_deactivated_user_cannot_log_in(world: World, login: Any) -> None:
    api = login("admin.hf")
    assert (
        api.client.patch(
            "/api/v1/admin/users/unit.hf",
            headers={"X-CSRF-Token": api.csrf},
            json={"active": False},
        ).status_code
        == 200
    )
    assert (
        api.client.post(
            "/api/v1/auth/login", json={"username": "unit.hf", "password": "demo-pass-1"}
        ).status_code
        == 401
    )


def test_unlock_after_failed_logins(world: World, login: Any, app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        client.post(
            "/api/v1/auth/login", json={"username": "unit.hf", "password": "wrong-password"}
        )
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "unit.hf", "password": "demo-pass-1"}
        ).status_code
        == 423
    )
    api = login("admin.hf")
    locked = next(u for u in api.get("/admin/users").get_json() if u["username"] == "unit.hf")
    assert locked["locked_until"] is not None
    response = api.client.patch(
        "/api/v1/admin/users/unit.hf", headers={"X-CSRF-Token": api.csrf}, json={"unlock": True}
    )
    assert response.status_code == 200 and response.get_json()["locked_until"] is None
    assert login("unit.hf").get("/me").status_code == 200


def test_users_outside_the_subtree_do_not_exist(world: World, login: Any) -> None:
    api = login("admin.hf")
    response = api.client.patch(
        "/api/v1/admin/users/discipline.wh",
        headers={"X-CSRF-Token": api.csrf},
        json={"display_name": "x"},
    )
    assert response.status_code == 404
    assert (
        api.client.patch(
            "/api/v1/admin/users/nobody",
            headers={"X-CSRF-Token": api.csrf},
            json={"display_name": "x"},
        ).status_code
        == 404
    )


def test_nobody_locks_themselves_out(world: World, login: Any) -> None:
    api = login("admin.hf")
    for change, field in (
        ({"active": False}, "active"),
        ({"role": "discipline"}, "role"),
        ({"org_unit": "ah-hf-fd"}, "org_unit"),
    ):
        response = api.client.patch(
            "/api/v1/admin/users/admin.hf", headers={"X-CSRF-Token": api.csrf}, json=change
        )
        assert response.status_code == 422 and set(response.get_json()["errors"]) == {field}
    bad = api.client.patch(
        "/api/v1/admin/users/unit.hf",
        headers={"X-CSRF-Token": api.csrf},
        json={"password": "short", "active": "maybe"},
    )
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"password", "active"}


def test_create_org_unit_within_the_subtree(world: World, login: Any, rt: Runtime) -> None:
    api = login("admin.hf")
    response = api.post(
        "/admin/org-units",
        json={"code": "ah-hf-cf", "name": "长丰县", "level": "county", "parent": "ah-hf"},
    )
    assert response.status_code == 201 and response.get_json()["parent"] == "ah-hf"
    assert "ah-hf-cf" in [u["code"] for u in login("admin.hf").get("/admin/org-units").get_json()]
    assert _last_audit(rt, "admin.org_unit.create").object_id == "ah-hf-cf"
    for change, field in (
        ({"parent": "ah-wh"}, "parent"),
        ({"parent": "ah"}, "parent"),
        ({"code": "ah-hf-fd"}, "code"),
        ({"level": "province"}, "level"),
        ({"level": "village"}, "level"),
        ({"code": "a b"}, "code"),
    ):
        body = {"code": "ah-hf-x", "name": "某县", "level": "county", "parent": "ah-hf", **change}
        refused = api.post("/admin/org-units", json=body)
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {field}, change


def test_calendar_days_and_years(world: World, login: Any, rt: Runtime) -> None:
    api = login("admin.hf")
    year = api.get("/admin/calendar?year=2027").get_json()
    assert (year["published"], year["declared"], year["days"]) == (False, True, [])
    assert api.get("/admin/calendar").get_json()["year"] == 2026  # the clock's year
    put = api.put("/admin/calendar/days/2027-10-08", json={"is_workday": False, "note": "国庆节"})
    assert put.status_code == 200 and put.get_json() == {
        "day": "2027-10-08",
        "is_workday": False,
        "note": "国庆节",
    }
    assert api.put("/admin/calendar/days/2027-10-09", json={"is_workday": True}).status_code == 200
    days = api.get("/admin/calendar?year=2027").get_json()["days"]
    assert [(d["day"], d["is_workday"]) for d in days] == [
        ("2027-10-08", False),
        ("2027-10-09", True),
    ]
    assert _last_audit(rt, "calendar.set_day").object_id == "2027-10-09"
    assert api.delete("/admin/calendar/days/2027-10-09").status_code == 204
    assert _last_audit(rt, "calendar.clear_day").object_id == "2027-10-09"
    assert api.delete("/admin/calendar/days/2027-10-09").status_code == 404
    declared = api.post("/admin/calendar/years", json={"year": 2029, "note": "待国务院公布"})
    assert declared.status_code == 201 and declared.get_json()["declared"] is True
    assert _last_audit(rt, "calendar.declare_year").object_id == "2029"


def test_calendar_bad_input(world: World, login: Any) -> None:
    api = login("admin.hf")
    bad_day = api.put("/admin/calendar/days/2027-13-01", json={"is_workday": True})
    assert bad_day.status_code == 422 and set(bad_day.get_json()["errors"]) == {"day"}
    missing = api.put("/admin/calendar/days/2027-10-08", json={"note": "x"})
    assert set(missing.get_json()["errors"]) == {"is_workday"}
    assert set(api.post("/admin/calendar/years", json={"year": 1999}).get_json()["errors"]) == {
        "year"
    }
    assert set(api.get("/admin/calendar?year=abc").get_json()["errors"]) == {"year"}


def test_deadline_settings_keep_the_appeal_window_and_send_steps_to_time_limits(
    world: World, login: Any, rt: Runtime
) -> None:
    """The process-wide deadline settings hold the appeal window only; a step's 办理时限 is a
    time-limit setting (tests/api/test_time_limits.py), and the old key is refused by name."""
    api = login("admin.hf")
    assert api.get("/admin/settings/deadlines").get_json() == {"appeal_window_months": 1}
    response = api.put("/admin/settings/deadlines", json={"appeal_window_months": 2})
    assert response.status_code == 200 and response.get_json() == {"appeal_window_months": 2}
    changes = json.loads(_last_audit(rt, "settings.deadlines").detail)["changes"]
    assert changes == {"appeal_window_months": {"from": 1, "to": 2}}
    refused = api.put("/admin/settings/deadlines", json={"investigation_workdays": 20})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {
        "investigation_workdays"
    }
    assert api.get("/admin/settings/deadlines").get_json() == {"appeal_window_months": 2}


def test_deadline_settings_refuse_unknown_keys_and_bad_numbers(world: World, login: Any) -> None:
    api = login("admin.hf")
    response = api.put(
        "/admin/settings/deadlines", json={"bogus_days": 3, "appeal_window_months": 0}
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"bogus_days", "appeal_window_months"}
    for value in (366, "30", 2.5, True, None):
        refused = api.put("/admin/settings/deadlines", json={"appeal_window_months": value})
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {
            "appeal_window_months"
        }
    assert api.get("/admin/settings/deadlines").get_json()["appeal_window_months"] == 1


def test_clock_moves_where_adjustable(world: World, login: Any, rt: Runtime) -> None:
    api = login("admin.hf")
    clock = api.get("/admin/clock").get_json()
    assert clock["adjustable"] is True and clock["today"] == "2026-03-02"
    moved = api.post("/admin/clock", json={"advance": "2h"}).get_json()
    assert moved["now"].startswith("2026-03-02T03:00")  # 09:00 in Shanghai is 01:00 UTC
    assert json.loads(_last_audit(rt, "clock.move").detail)["advance"] == "2h"
    api = login("admin.hf")  # moving the clock ends sessions idle for longer than allowed
    set_to = api.post("/admin/clock", json={"set": "2026-06-01T09:00:00"})
    assert set_to.status_code == 200 and set_to.get_json()["today"] == "2026-06-01"
    api = login("admin.hf")
    for body, field in (
        ({}, "advance"),
        ({"advance": "soon"}, "advance"),
        ({"advance": "1d", "set": "2026-07-01T00:00:00"}, "advance"),
        ({"set": "tomorrow"}, "set"),
        ({"advance": "99999999d"}, "advance"),
        ({"set": "2999-01-01T00:00:00"}, "set"),
    ):
        refused = api.post("/admin/clock", json=body)
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {field}, body
    assert api.get("/admin/clock").get_json()["today"] == "2026-06-01"


def test_clock_is_refused_where_not_adjustable(world: World, rt: Runtime) -> None:
    production = Runtime(dataclasses.replace(rt.settings, clock_adjustable=False), db=rt.db)
    client = create_app(production, TESTING=True).test_client()
    login = client.post(
        "/api/v1/auth/login", json={"username": "admin.hf", "password": "demo-pass-1"}
    )
    csrf = login.get_json()["csrf_token"]
    assert client.get("/api/v1/admin/clock").get_json()["adjustable"] is False
    refused = client.post(
        "/api/v1/admin/clock", json={"advance": "31d"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 403 and refused.get_json()["code"] == "clock_not_adjustable"


def test_audit_trail_newest_first_with_filters_and_scope(world: World, login: Any) -> None:
    login("admin.wh").post(
        "/admin/users", json={**NEW_USER, "username": "clerk.wh", "org_unit": "ah-wh"}
    )
    api = login("admin.hf")
    api.post("/admin/users", json=NEW_USER)
    api.put("/admin/calendar/days/2027-10-08", json={"is_workday": False})
    page = api.get("/admin/audit?per_page=200").get_json()
    ids = [row["id"] for row in page["items"]]
    assert ids == sorted(ids, reverse=True)
    created = api.get("/admin/audit?action=admin.user.create").get_json()
    assert [r["object_id"] for r in created["items"]] == [
        "clerk.fd"
    ]  # 芜湖市's admin is not theirs
    assert created["items"][0]["detail"]["by"]["org_unit"] == "ah-hf"
    mine = api.get("/admin/audit?actor=admin.hf&object_type=calendar").get_json()
    assert [r["action"] for r in mine["items"]] == ["calendar.set_day"]
    assert api.get("/admin/audit?since=2030-01-01T00:00:00").get_json()["total"] == 0
    assert api.get("/admin/audit?until=2000-01-01T00:00:00").get_json()["total"] == 0
    paged = api.get("/admin/audit?per_page=1&page=2").get_json()
    assert paged["total"] >= 3 and len(paged["items"]) == 1
    bad = api.get("/admin/audit?instance_id=x&since=yesterday&until=0001-01-01T00:00:00")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {
        "instance_id",
        "since",
        "until",
    }


def test_audit_other_units_cases_are_hidden(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)  # 合肥市
    rows = login("admin.wh").get(f"/admin/audit?instance_id={case.instance_id}").get_json()
    assert rows["total"] == 0
    assert (
        login("admin.hf").get(f"/admin/audit?instance_id={case.instance_id}").get_json()["total"]
        > 0
    )


def test_audit_chain_verifies(world: World, login: Any) -> None:
    api = login("admin.hf")
    api.post("/admin/users", json=NEW_USER)
    result = api.post("/admin/audit/verify").get_json()
    assert result["ok"] is True and result["checked"] > 0 and result["first_bad_id"] is None

"""故障 through the API: administrators list the incidents of their units, designers all of
them, others are refused; retry and cancel answer with the incident as it is afterwards and
are audited; hostile timers are refused by POST /processes/validate with the element named."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import DATA, set_clock
from tests.support import sweep
from tests.support.world import World
from workflows.definitions import deployment
from workflows.engine import instances
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime


def _start(rt: Runtime, data: dict[str, Any], org_unit: str) -> int:
    with rt.transaction() as session:
        version = deployment.latest(session, process_key="hostile_timers")
        return instances.start(
            session, version=version, data=data, org_unit=org_unit, actor="tester", clock=rt.clock
        ).id


@pytest.fixture
def stuck(rt: Runtime, world: World) -> dict[str, int]:
    """Three stuck instances: two of 合肥市 (a bad date, a calendar year nobody declared), one of
    芜湖市; their incidents come from the sweep after new_year."""
    with rt.db.transaction() as session:
        deployment.deploy(
            session,
            files=deployment.collect([DATA / "hostile_timers.bpmn"]),
            form_source=deployment.FormFolder(rt.settings.forms_dir),
            max_bytes=200_000,
            actor="designer.hf",
            clock=rt.clock,
            note="测试部署",
            confirm=True,
        )
    made = {
        "date": _start(rt, {"kind": "date", "value": "2026-13-45"}, "ah-hf"),
        "calendar": _start(rt, {"kind": "calendar"}, "ah-hf"),
        "wuhu": _start(rt, {"kind": "date", "value": "2026-13-45"}, "ah-wh"),
    }
    set_clock(rt, "2029-01-02 09:00")  # the world's calendar knows 2027 and 2028, not 2029
    assert sweep(rt) == 0
    return made


def _by_instance(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {item["instance_id"]: item for item in body["items"]}


def test_administrators_see_their_units_incidents_designers_all_others_are_refused(
    login: Any, stuck: dict[str, int]
) -> None:
    mine = login("admin.hf").get("/incidents")
    assert mine.status_code == 200
    body = mine.get_json()
    assert body["total"] == 2 and set(_by_instance(body)) == {stuck["date"], stuck["calendar"]}
    item = _by_instance(body)[stuck["date"]]
    assert (
        item["element"] == "wait_date"
        and item["status"] == "open"
        and item["status_name"] == "待处理"
    )
    assert item["message"].startswith(
        "定时器 wait_date 的时间点（timeDate）取值 2026-13-45 不被接受"
    )
    assert (item["attempts"], item["max_attempts"], item["may_retry"], item["may_cancel"]) == (
        1,
        5,
        True,
        True,
    )
    assert item["next_retry_at"] is not None and item["process_key"] == "hostile_timers"
    assert set(_by_instance(login("admin.wh").get("/incidents").get_json())) == {stuck["wuhu"]}
    assert set(_by_instance(login("designer.hf").get("/incidents").get_json())) == set(
        stuck.values()
    )
    one = login("admin.hf").get(f"/incidents/{item['id']}")
    assert one.status_code == 200 and one.get_json()["id"] == item["id"]
    assert login("admin.wh").get(f"/incidents/{item['id']}").status_code == 404
    for clerk in ("discipline.hf", "supervisor.hf", "zhang"):
        api = login(clerk)
        refused = api.get("/incidents")
        assert refused.status_code == 403, clerk
        assert refused.mimetype == "application/problem+json"
        assert "只有系统管理和流程设计人员可以查看和处理故障" in refused.get_json()["detail"]
        assert api.get(f"/incidents/{item['id']}").status_code == 403
        assert api.post(f"/incidents/{item['id']}/retry").status_code == 403
        assert api.post(f"/incidents/{item['id']}/cancel", json={}).status_code == 403


def test_a_retry_fails_while_the_cause_remains_and_resolves_once_it_is_fixed(
    rt: Runtime, login: Any, stuck: dict[str, int]
) -> None:
    admin = login("admin.hf")
    incident = _by_instance(admin.get("/incidents").get_json())[stuck["calendar"]]
    assert "working days of 2029 are unknown" in incident["message"]

    again = admin.post(f"/incidents/{incident['id']}/retry")
    assert again.status_code == 200
    body = again.get_json()
    assert (body["resolved"], body["fired"], body["incident"]["attempts"]) == (False, 0, 2)
    assert "working days of 2029 are unknown" in body["message"]

    assert admin.post(
        "/admin/calendar/years", json={"year": 2029, "note": "按周一至周五"}
    ).status_code in (200, 201)
    done = login("designer.hf").post(f"/incidents/{incident['id']}/retry")
    assert done.status_code == 200
    body = done.get_json()
    assert (body["resolved"], body["fired"]) == (True, 1)
    assert (
        body["incident"]["status"],
        body["incident"]["closed_by"],
        body["incident"]["may_retry"],
    ) == ("resolved", "designer.hf", False)
    assert admin.post(f"/incidents/{incident['id']}/retry").status_code == 409
    assert admin.get("/incidents?status=resolved").get_json()["total"] == 1
    with rt.db.reading() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.instance_id == stuck["calendar"])
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(r) for r in rows[-3:]] == [
        ("incident.retry", "designer.hf"),
        ("timer.fire", "designer.hf"),
        ("incident.resolve", "designer.hf"),
    ]


def test_cancel_withdraws_the_failing_timers_and_closes_the_incident(
    rt: Runtime, login: Any, stuck: dict[str, int]
) -> None:
    admin = login("admin.hf")
    incident = _by_instance(admin.get("/incidents").get_json())[stuck["date"]]
    assert (
        admin.post(f"/incidents/{incident['id']}/cancel", json={"reason": "x" * 501}).status_code
        == 422
    )
    done = admin.post(f"/incidents/{incident['id']}/cancel", json={"reason": "日期有误，放弃等待"})
    assert done.status_code == 200
    body = done.get_json()
    assert body["withdrawn"] == ["new_year"]
    assert (body["incident"]["status"], body["incident"]["closed_by"]) == ("cancelled", "admin.hf")
    assert admin.post(f"/incidents/{incident['id']}/cancel", json={}).status_code == 409
    assert admin.post(f"/incidents/{incident['id']}/retry").status_code == 409
    assert set(_by_instance(admin.get("/incidents").get_json())) == {stuck["calendar"]}
    with rt.db.reading() as session:
        actions = list(
            session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.instance_id == stuck["date"])
                .order_by(AuditEvent.id)
            ).scalars()
        )
    assert actions[-2:] == ["timer.cancel", "incident.cancel"]


def test_validate_refuses_hostile_timers_naming_the_element(login: Any) -> None:
    hostile = (
        (DATA / "hostile_timers.bpmn")
        .read_text(encoding="utf-8")
        .replace(
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">value</bpmn:timeDuration>',
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P99999999Y"</bpmn:timeDuration>',
        )
        .replace(
            '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">value</bpmn:timeCycle>',
            '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R/PT0S"</bpmn:timeCycle>',
        )
    )
    designer = login("designer.hf")
    checked = designer.post(
        "/processes/validate", json={"files": [{"name": "hostile_timers.bpmn", "content": hostile}]}
    )
    assert checked.status_code == 200
    body = checked.get_json()
    assert body["ok"] is False
    errors = [p for p in body["problems"] if p["severity"] == "error"]
    assert {(p["element"], p["reason"].split("：")[-1]) for p in errors} == {
        ("wait_duration", "时长不能超过 10 年"),
        ("remind", "重复间隔不能短于 1 分钟"),
    }
    deployed = designer.post(
        "/processes",
        json={
            "files": [{"name": "hostile_timers.bpmn", "content": hostile}],
            "note": "试部署",
            "confirm": True,
        },
    )
    assert deployed.status_code == 422
    refused = deployed.get_json()["problems"]
    assert {p["element"] for p in refused if p["severity"] == "error"} == {
        "wait_duration",
        "remind",
    }

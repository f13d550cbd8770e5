"""故障 (/incidents) and the case page's banner over the test client: administrators and
designers see the incidents they may handle and retry or cancel them with the form's CSRF
token; others are refused; a stuck case says so to everyone who sees it."""

from __future__ import annotations

import html as html_lib
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.world import World
from workflows.engine.incidents import service as incidents
from workflows.engine.incidents.models import Incident
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
MESSAGE = (
    "定时器 investigation_overdue 的时间点（timeDate）取值 2026-13-45 不被接受：不是有效的日期"
)


def _text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def stuck_case(rt: Runtime, world: World) -> tuple[int, int]:
    """An accountability case of 合肥市 whose instance has an open incident: (case id, incident id)."""
    case = world.open("accountability", data=FINDING)
    with rt.db.transaction() as session:
        incident_id = incidents.record_failure(
            session,
            instance_id=case.instance_id,
            element="investigation_overdue",
            message=MESSAGE,
            clock=rt.clock,
        )
    return case.id, incident_id


def test_the_incidents_page_lists_them_with_retry_and_cancel(
    logged_in: Any, stuck_case: tuple[int, int]
) -> None:
    case_id, incident_id = stuck_case
    client, _ = logged_in("admin.hf")
    page = client.get("/incidents")
    assert page.status_code == 200
    text = _text(page)
    assert f'id="incident-{incident_id}"' in text
    assert MESSAGE in text and "investigation_overdue" in text
    assert f'href="/cases/{case_id}"' in text  # the admin sees the case
    assert (
        f'action="/incidents/{incident_id}/retry"' in text
        and f'action="/incidents/{incident_id}/cancel"' in text
    )
    assert 'href="/incidents"' in text and 'aria-current="page"' in text  # in the header, marked
    designer, _ = logged_in("designer.hf")
    seen = _text(designer.get("/incidents"))
    assert f'id="incident-{incident_id}"' in seen
    assert f'href="/cases/{case_id}"' not in seen  # designers never see cases
    assert f'id="incident-{incident_id}"' not in _text(logged_in("admin.wh")[0].get("/incidents"))
    english = _text(client.get("/incidents?lang=en"))
    assert "Incidents" in english and "Retry" in english


@pytest.mark.parametrize("username", ["discipline.hf", "supervisor.hf", "zhang"])
def test_the_incidents_page_and_its_actions_are_refused_to_other_roles(
    logged_in: Any, stuck_case: tuple[int, int], username: str
) -> None:
    _case_id, incident_id = stuck_case
    client, csrf = logged_in(username)
    refused = client.get("/incidents")
    assert refused.status_code == 403
    assert "只有系统管理和流程设计人员可以查看和处理故障" in _text(refused)
    assert 'href="/incidents"' not in _text(client.get("/cases"))
    for action in ("retry", "cancel"):
        assert (
            client.post(f"/incidents/{incident_id}/{action}", data={"csrf_token": csrf}).status_code
            == 403
        )


def test_retry_from_the_page_needs_the_csrf_token_and_says_how_it_went(
    rt: Runtime, logged_in: Any, stuck_case: tuple[int, int]
) -> None:
    _case_id, incident_id = stuck_case
    client, csrf = logged_in("admin.hf")
    assert client.post(f"/incidents/{incident_id}/retry", data={}).status_code == 403
    done = client.post(
        f"/incidents/{incident_id}/retry", data={"csrf_token": csrf, "next": "/incidents"}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/incidents")
    # Nothing of the case is due: firing finds nothing to do, and the incident is resolved.
    assert f"故障 {incident_id} 已解决：定时器已触发" in _text(client.get("/incidents"))
    with rt.db.reading() as session:
        assert session.get(Incident, incident_id).status == "resolved"  # type: ignore[union-attr]
        actors = session.execute(
            select(AuditEvent.actor).where(AuditEvent.action == "incident.retry")
        ).scalars()
        assert list(actors) == ["admin.hf"]
    resolved = _text(client.get("/incidents?status=resolved"))
    assert (
        f'id="incident-{incident_id}"' in resolved
        and f'action="/incidents/{incident_id}/retry"' not in resolved
    )
    again = client.post(f"/incidents/{incident_id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409 and "已解决" in _text(again)


def test_cancel_from_the_page_records_the_reason(
    rt: Runtime, logged_in: Any, stuck_case: tuple[int, int]
) -> None:
    _case_id, incident_id = stuck_case
    client, csrf = logged_in("designer.hf")
    done = client.post(
        f"/incidents/{incident_id}/cancel",
        data={"csrf_token": csrf, "reason": "取值有误", "next": "/incidents?status=all"},
    )
    assert done.status_code == 303
    assert f"故障 {incident_id} 已取消；撤销的定时器：无" in _text(
        client.get("/incidents?status=all")
    )
    with rt.db.reading() as session:
        detail = session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "incident.cancel")
        ).scalar_one()
    assert '"reason": "取值有误"' in detail


def test_a_stuck_case_says_so_on_its_page(logged_in: Any, stuck_case: tuple[int, int]) -> None:
    case_id, incident_id = stuck_case
    clerk, _ = logged_in("discipline.hf")
    page = _text(clerk.get(f"/cases/{case_id}"))
    assert 'id="stuck"' in page and "流程暂停" in page and "系统管理人员会处理。" in page
    assert MESSAGE not in page and "/incidents" not in page  # why, and the link, are for handlers
    admin, csrf = logged_in("admin.hf")
    page = _text(admin.get(f"/cases/{case_id}"))
    assert MESSAGE in page and f'href="/incidents#incident-{incident_id}"' in page
    admin.post(f"/incidents/{incident_id}/retry", data={"csrf_token": csrf})
    page = _text(admin.get(f"/cases/{case_id}"))
    assert 'id="stuck"' not in page
    assert (
        "定时器出错" in page and "故障重试" in page and "故障已解决" in page
    )  # the case's history

"""People by name on the pages (DOMAIN.md §6): 委派/转办 and an appeal's 复核人 chosen from a list
of eligible colleagues by 姓名（单位·岗位）, the list narrowed by a search; the admin pages edit
姓名 and 职务; the inbox and the audit trail show names, not login ids."""

from __future__ import annotations

import re
from typing import Any

from tests.support import HASHER
from tests.support.world import World
from workflows.cases import appeal
from workflows.org import service as org
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
COLLEAGUE = "第二审查员（合肥市·纪检监察机关）"


def _add(rt: Runtime, username: str, name: str, **extra: Any) -> None:
    with rt.db.transaction() as session:
        org.add_user(
            session,
            username=username,
            display_name=name,
            password="demo-pass-1",
            clock=rt.clock,
            hasher=HASHER,
            **{"role": "discipline", "org_unit_code": "ah-hf", **extra},
        )


def _options(html: str, select_id: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select id="{re.escape(select_id)}"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert found, f"no list {select_id}"
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', found.group(1))


def test_delegation_offers_colleagues_by_name_and_a_search(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    task_id = world.task(case, "investigate").id
    _add(rt, "zhao.hf", "赵六", post="第二纪检监察室副主任")
    _add(rt, "zhang.discipline", "张三（兼）", cadre_id=world.cadres["zhang"])  # recused
    client, csrf = logged_in("discipline.hf")
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    offered = [
        ("discipline2.hf", COLLEAGUE),
        ("zhao.hf", "赵六（合肥市·第二纪检监察室副主任）"),
    ]
    assert _options(html, "delegate-username") == offered
    assert _options(html, "transfer-username") == offered
    assert 'id="delegate-username-q"' in html and "接手人（同单位、同岗位的用户名）" not in html
    found = client.get(f"/tasks/{task_id}/candidates?purpose=delegate&people_q=赵")
    assert found.status_code == 200
    fragment = found.get_data(as_text=True)
    assert '<option value="zhao.hf">赵六（合肥市·第二纪检监察室副主任）</option>' in fragment
    assert "discipline2.hf" not in fragment
    none = client.get(f"/tasks/{task_id}/candidates?purpose=delegate&people_q=无此人")
    assert "没有姓名或用户名含“无此人”的可选人员" in none.get_data(as_text=True)
    assert (
        logged_in("discipline.wh")[0]
        .get(f"/tasks/{task_id}/candidates?purpose=delegate")
        .status_code
        == 404
    )
    done = client.post(
        f"/tasks/{task_id}/transfer", data={"csrf_token": csrf, "username": "zhao.hf"}
    )
    assert done.status_code == 303
    flash = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已转办给 赵六（合肥市·第二纪检监察室副主任）：责任调查" in flash


def test_appeal_acceptance_picks_the_reviewer_by_name(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    original = world.decided_accountability()
    with rt.db.transaction() as session:
        case = appeal.file_appeal(
            session,
            original_case_id=original.id,
            grounds="处理过重",
            filed_on=world.today().isoformat(),
            actor="zhang",
            clock=rt.clock,
        )
    _add(rt, "organization2.hf", "钱七", role="organization")
    task_id = world.task(case, "accept").id
    client, csrf = logged_in("organization2.hf")
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    # discipline.hf investigated the original case: recused (回避), so not offered
    assert _options(html, "f-reviewer") == [("discipline2.hf", COLLEAGUE)]
    assert "复核人（用户名）" not in html
    refused = client.post(
        f"/tasks/{task_id}",
        data={
            "csrf_token": csrf,
            "action": "complete",
            "reviewer": "discipline.hf",
            "accepted_on": world.today().isoformat(),
        },
    )
    assert refused.status_code == 422
    error = re.search(
        r'<p class="field-error" id="f-reviewer-error">([^<]*)</p>', refused.get_data(as_text=True)
    )
    assert error and "回避" in error.group(1)
    done = client.post(
        f"/tasks/{task_id}",
        data={
            "csrf_token": csrf,
            "action": "complete",
            "reviewer": "discipline2.hf",
            "accepted_on": world.today().isoformat(),
        },
    )
    assert done.status_code == 303
    review = world.task(case, "review")
    assert review.assignee == "discipline2.hf"
    # the reviewer shows by name in the next step's 办理记录
    reviewer_page = logged_in("discipline2.hf")[0].get(f"/tasks/{review.id}").get_data(as_text=True)
    assert f'<dt>复核人</dt><dd translate="no">{COLLEAGUE}</dd>' in reviewer_page


def test_inbox_and_audit_show_names_not_login_ids(logged_in: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    client, csrf = logged_in("discipline.hf")
    task_id = world.task(case, "register").id
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf, "next": "/tasks"})
    inbox = client.get("/tasks?queue=mine").get_data(as_text=True)
    assert "discipline hf（合肥市·纪检监察机关）" in inbox
    admin, _ = logged_in("admin.hf")
    audit = admin.get("/admin/audit?action=task.claim").get_data(as_text=True)
    assert "discipline hf（合肥市·纪检监察机关）" in audit


def test_admin_pages_edit_name_and_post(logged_in: Any, rt: Runtime) -> None:
    client, csrf = logged_in("admin.hf")
    form = {
        "csrf_token": csrf,
        "display_name": "王建国",
        "post": "第一纪检监察室主任",
        "email": "",
        "role": "discipline",
        "org_unit": "ah-hf",
        "active": "1",
    }
    too_long = client.post("/admin/users/discipline2.hf", data={**form, "post": "职" * 101})
    assert too_long.status_code == 422
    assert '<p class="field-error" id="post-error">职务不能超过 100 个字</p>' in too_long.get_data(
        as_text=True
    )
    empty = client.post("/admin/users/discipline2.hf", data={**form, "display_name": ""})
    assert empty.status_code == 422
    assert '<p class="field-error" id="display_name-error">姓名应为 1 到 50 个字</p>' in (
        empty.get_data(as_text=True)
    )
    saved = client.post("/admin/users/discipline2.hf", data=form)
    assert saved.status_code == 303
    page = client.get("/admin/users/discipline2.hf").get_data(as_text=True)
    assert "王建国（合肥市·第一纪检监察室主任）" in page
    listing = client.get("/admin/users").get_data(as_text=True)
    assert '<td data-label="职务" translate="no">第一纪检监察室主任</td>' in listing
    with rt.db.reading() as session:
        user = org.user_by_name(session, "discipline2.hf")
        assert (user.display_name, user.post) == ("王建国", "第一纪检监察室主任")

"""流程设计 and 系统管理 pages over the test client: who may open them, what they show, and
bad input answered beside its field with the values kept."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.world import World
from tests.ui.conftest import submit_login
from workflows.engine.models import AuditEvent, CalendarOverride, CalendarYear, TimeLimitSetting
from workflows.org.models import LoginSession, OrgUnit, User
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
HTMX = {"HX-Request": "true"}
DESIGN_PAGES = [
    "/processes",
    "/processes/accountability/edit",
    "/decisions/six_elements/edit",
    "/forms",
    "/forms/accountability_decide.schema.json",
]
ADMIN_PAGES = [
    "/admin",
    "/admin/users",
    "/admin/users/new",
    "/admin/users/discipline.hf",
    "/admin/units",
    "/admin/calendar",
    "/admin/deadlines",
    "/admin/audit",
]


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _error(page: str, field: str) -> str:
    """The message shown beside a field (its `<id>-error` paragraph)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', page)
    assert found, f"no error beside {field}"
    return html_lib.unescape(found.group(1))


def _last_audit(rt: Runtime) -> AuditEvent:
    with rt.db.reading() as session:
        row = session.execute(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar_one()
        session.expunge(row)
        return row


# -- who may open what -----------------------------------------------------------------------
@pytest.mark.parametrize("username", ["discipline.hf", "supervisor.hf", "zhang"])
def test_design_pages_are_refused_to_other_roles(logged_in: Any, username: str) -> None:
    client, _ = logged_in(username)
    for path in DESIGN_PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "只有流程设计和系统管理人员可以查看流程定义文件" in _text(response)


@pytest.mark.parametrize("username", ["designer.hf", "discipline.hf", "supervisor.hf", "zhang"])
def test_admin_pages_are_refused_to_other_roles(logged_in: Any, username: str) -> None:
    client, csrf = logged_in(username)
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert response.status_code == 403 or path == "/admin/users/discipline.hf"
    refused = client.post(
        "/admin/deadlines", data={"csrf_token": csrf, "investigation_workdays": "10"}
    )
    assert refused.status_code == 403


def test_pages_need_a_login(app: Flask) -> None:
    client = app.test_client()
    for path in [*DESIGN_PAGES, *ADMIN_PAGES]:
        assert client.get(path).headers["Location"].startswith("/login?next="), path


def test_admins_may_look_at_the_designs_but_not_deploy(logged_in: Any) -> None:
    client, _ = logged_in("admin.hf")
    for path in DESIGN_PAGES:
        assert client.get(path).status_code == 200, path
    editor = _text(client.get("/processes/accountability/edit"))
    assert 'id="btn-deploy"' not in editor and 'id="btn-validate"' not in editor
    assert "只有流程设计人员可以校验和部署" in editor
    assert 'href="/processes"' in _text(client.get("/admin"))


def test_admin_and_designer_land_on_their_pages(logged_in: Any) -> None:
    designer, _ = logged_in("designer.hf")
    assert designer.get("/").headers["Location"] == "/processes"
    admin, _ = logged_in("admin.hf")
    assert admin.get("/").headers["Location"] == "/admin"


# -- 流程设计 ---------------------------------------------------------------------------------
def test_process_list_shows_versions_running_cases_and_decision_tables(
    logged_in: Any, world: World
) -> None:
    world.open("accountability", data=FINDING)
    client, _ = logged_in("designer.hf")
    page = _text(client.get("/processes"))
    row = page.split('id="process-accountability"', 1)[1].split("</tr>", 1)[0]
    assert "问责" in row and "第 1 版" in row and "运行中 1 · 已结束 0" in row
    assert 'href="/processes/accountability/edit"' in row
    decision = page.split('id="decision-six_elements"', 1)[1].split("</tr>", 1)[0]
    assert "容错建议（六个要件）" in decision and "容错免责" in decision
    assert 'href="/decisions/six_elements/edit"' in decision


def _json_script(page: str, name: str) -> Any:
    found = re.search(
        rf'<script type="application/json" id="{name}">(.*?)</script>', page, re.DOTALL
    )
    assert found, name
    return json.loads(found.group(1))


def test_bpmn_editor_opens_the_latest_version_with_its_assets(logged_in: Any) -> None:
    client, _ = logged_in("designer.hf")
    page = _text(client.get("/processes/accountability/edit"))
    assert '<userTask id="register"' in _json_script(page, "modeler-source").replace("bpmn:", "")
    assert _json_script(page, "modeler-companions") == []
    assert "</script>" not in _json_script(page, "modeler-source")
    assert 'data-file="accountability.bpmn"' in page
    for asset in re.findall(r'(?:src|href)="(/vendor/[^"]+|/ui/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset
    assert "/vendor/bpmn-js/bpmn-modeler.production.min.js" in page
    assert "/vendor/bpmn-js/assets/bpmn-font/css/bpmn-embedded.css" in page


def test_dmn_editor_sends_the_processes_calling_the_table_along(logged_in: Any) -> None:
    client, _ = logged_in("designer.hf")
    page = _text(client.get("/decisions/six_elements/edit"))
    assert 'id="red_line_nature"' in _json_script(page, "modeler-source")
    companions = _json_script(page, "modeler-companions")
    assert [c["name"] for c in companions] == ["tolerance_review.bpmn"]
    assert "calledDecisionId>six_elements<" in companions[0]["content"]
    assert 'data-file="six_elements.dmn"' in page and "容错免责" in page
    for asset in re.findall(r'(?:src|href)="(/vendor/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset


def test_editor_settings_name_the_roles_and_the_coded_values_and_follow_the_language(
    logged_in: Any,
) -> None:
    client, _ = logged_in("designer.hf")
    page = _text(client.get("/processes/accountability/edit"))
    editor = _json_script(page, "modeler-editor")
    assert editor["chinese"] is True
    assert editor["roles"]["discipline"] == "纪检监察机关"
    assert editor["roles"]["committee"] == "党委(党组)"
    assert "/ui/static/editor-zh.js" in page
    table = _json_script(_text(client.get("/decisions/six_elements/edit")), "modeler-editor")
    assert table["columns"]["nature"] == {
        "favourable": "一般性失误错误",
        "unfavourable": "违纪违法行为",
    }
    assert table["codes"]["exempt"] == "免责" and table["codes"]["reject"] == "不予容错"
    english = _json_script(
        _text(client.get("/decisions/six_elements/edit?lang=en")), "modeler-editor"
    )
    assert english["chinese"] is False
    assert english["roles"]["discipline"] == "纪检监察机关"  # lanes keep the roles' names


def test_unknown_definitions_are_not_found(logged_in: Any) -> None:
    client, _ = logged_in("designer.hf")
    for path in [
        "/processes/nothing/edit",
        "/decisions/nothing/edit",
        "/forms/nothing.schema.json",
    ]:
        assert client.get(path).status_code == 404, path


def test_forms_list_and_the_rendered_preview(logged_in: Any) -> None:
    client, _ = logged_in("designer.hf")
    listing = _text(client.get("/forms"))
    assert 'href="/forms/accountability_decide.schema.json"' in listing
    assert 'href="/forms/accountability_decide.uischema.json"' in listing
    page = _text(client.get("/forms/accountability_decide.schema.json"))
    assert '"ui:widget": "radio"' in html_lib.unescape(page)  # the UI schema beside the schema
    preview = page.split('id="preview"', 1)[1]
    assert '<input type="radio" name="outcome"' in preview  # a choice as radios (ui:widget radio)
    assert '<input type="date" id="f-decided_on" name="decided_on"' in preview  # format date
    assert '<textarea id="f-reason" name="reason"' in preview  # ui:widget textarea
    assert preview.index('name="outcome"') < preview.index('name="reason"')  # ui:order
    plan = _text(client.get("/forms/periodic_talks_plan.schema.json")).split('id="preview"', 1)[1]
    assert '<fieldset class="group array' in plan  # a list of pairs
    grid = _text(client.get("/forms/tolerance_analyse.schema.json")).split('id="preview"', 1)[1]
    assert '<table class="six-elements">' in grid  # the six-element grid, as the task page shows it


def test_an_edited_schema_is_previewed_in_place(logged_in: Any) -> None:
    client, csrf = logged_in("designer.hf")
    schema = {
        "title": "试填",
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "title": "种类", "enum": ["a", "b"]},
            "when": {"type": "string", "format": "date", "title": "日期"},
        },
    }
    response = client.post(
        "/forms/accountability_decide.schema.json",
        headers={**HTMX, "X-CSRF-Token": csrf},
        data={"schema": json.dumps(schema), "uischema": "{}"},
    )
    fragment = _text(response)
    assert response.status_code == 200 and fragment.startswith('<div id="preview"')
    assert '<input type="radio" name="kind"' in fragment and 'value="b"' in fragment
    assert (
        '<input type="date" id="f-when" name="when"' in fragment
        and 'aria-required="true"' in fragment
    )


def test_bad_json_in_the_preview_is_named_beside_its_field_and_kept(logged_in: Any) -> None:
    client, csrf = logged_in("designer.hf")
    response = client.post(
        "/forms/accountability_decide.schema.json",
        data={"csrf_token": csrf, "schema": '{"type": "object",', "uischema": "[]"},
    )
    page = _text(response)
    assert response.status_code == 422
    assert _error(page, "schema").startswith("表单结构（JSON Schema）不是有效的 JSON：第 1 行")
    assert _error(page, "uischema") == "界面设置（UI Schema）应为 JSON 对象"
    assert ">{&#34;type&#34;: &#34;object&#34;,</textarea>" in page
    assert "恢复为已部署的内容" in page


def test_json_nested_too_deep_in_the_preview_is_named_not_a_server_error(logged_in: Any) -> None:
    client, csrf = logged_in("designer.hf")
    deep = '{"a":' * 1200 + "1" + "}" * 1200  # past the parser's recursion
    response = client.post(
        "/forms/accountability_decide.schema.json",
        data={"csrf_token": csrf, "schema": deep, "uischema": "[" * 65 + "]" * 65},
    )
    page = _text(response)
    assert response.status_code == 422
    assert _error(page, "schema") == "表单结构（JSON Schema）嵌套超过 64 层"
    assert _error(page, "uischema") == "界面设置（UI Schema）嵌套超过 64 层"


# -- users ------------------------------------------------------------------------------------
def test_new_user_with_bad_input_keeps_the_values_and_names_each_field(
    logged_in: Any, rt: Runtime
) -> None:
    client, csrf = logged_in("admin.hf")
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf,
            "username": "bad name",
            "display_name": "",
            "role": "king",
            "org_unit": "ah-hf",
            "password": "short",
            "password_confirm": "other",
            "cadre_id": "x",
        },
    )
    page = _text(response)
    assert response.status_code == 422
    assert _error(page, "username") == "只能包含字母、数字和 . _ @ -"
    assert _error(page, "display_name") == "姓名应为 1 到 50 个字"
    assert _error(page, "role").startswith("应为以下之一：discipline")
    assert _error(page, "password") == "长度应在 8 到 200 之间"
    assert _error(page, "password_confirm") == "两次输入的密码不一致"
    assert _error(page, "cadre_id") == "应为整数"
    assert 'value="bad name"' in page and 'value="short"' not in page
    assert 'aria-describedby="username-error username-help"' in page


def test_domain_refusals_land_beside_their_field(logged_in: Any) -> None:
    client, csrf = logged_in("admin.hf")
    base = {
        "csrf_token": csrf,
        "display_name": "新人",
        "role": "discipline",
        "password": "long-enough-1",
        "password_confirm": "long-enough-1",
    }
    taken = _text(
        client.post(
            "/admin/users/new", data={**base, "username": "discipline.hf", "org_unit": "ah-hf"}
        )
    )
    assert _error(taken, "username") == "用户名 discipline.hf 已被使用"
    elsewhere = _text(
        client.post("/admin/users/new", data={**base, "username": "new.one", "org_unit": "ah-wh"})
    )
    assert _error(elsewhere, "org_unit") == "单位 ah-wh 不存在或不在本人管理范围内"
    cadre = _text(
        client.post(
            "/admin/users/new",
            data={**base, "username": "new.cadre", "org_unit": "ah-hf", "role": "cadre"},
        )
    )
    assert _error(cadre, "cadre_id") == "干部本人的账户须关联其干部档案"


def test_admin_creates_edits_resets_and_unlocks_a_user(
    logged_in: Any, rt: Runtime, app: Flask
) -> None:
    client, csrf = logged_in("admin.hf")
    created = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf,
            "username": "clerk.new",
            "display_name": "新办事员",
            "role": "discipline",
            "org_unit": "ah-hf-fd",
            "password": "first-pass-1",
            "password_confirm": "first-pass-1",
        },
    )
    assert created.status_code == 303 and created.headers["Location"] == "/admin/users/clerk.new"
    assert "已创建用户 clerk.new" in _text(client.get("/admin/users/clerk.new"))
    assert _last_audit(rt).action == "admin.user.create"

    moved = client.post(
        "/admin/users/clerk.new",
        data={
            "csrf_token": csrf,
            "display_name": "新办事员",
            "role": "organization",
            "org_unit": "ah-hf",
            "active": "1",
        },
    )
    assert moved.status_code == 303
    assert json.loads(_last_audit(rt).detail)["changes"]["role"] == {
        "from": "discipline",
        "to": "organization",
    }

    other = app.test_client()
    assert submit_login(other, "clerk.new", "first-pass-1").status_code == 303
    for _ in range(5):
        submit_login(app.test_client(), "clerk.new", "wrong")
    assert "已锁定" in _text(client.get("/admin/users?q=clerk"))
    mismatch = client.post(
        "/admin/users/clerk.new/password",
        data={"csrf_token": csrf, "password": "second-pass-2", "password_confirm": "second-pass-3"},
    )
    assert (
        mismatch.status_code == 422
        and _error(_text(mismatch), "password_confirm") == "两次输入的密码不一致"
    )
    short = client.post(
        "/admin/users/clerk.new/password",
        data={"csrf_token": csrf, "password": "short", "password_confirm": "short"},
    )
    assert _error(_text(short), "password") == "长度应在 8 到 200 之间"
    assert (
        client.post(
            "/admin/users/clerk.new/password",
            data={
                "csrf_token": csrf,
                "password": "second-pass-2",
                "password_confirm": "second-pass-2",
            },
        ).status_code
        == 303
    )
    with rt.db.reading() as session:
        user_id = session.execute(select(User.id).where(User.username == "clerk.new")).scalar_one()
        sessions = (
            session.execute(select(LoginSession).where(LoginSession.user_id == user_id))
            .scalars()
            .all()
        )
        assert sessions and all(s.revoked_at is not None for s in sessions)
    assert (
        client.post("/admin/users/clerk.new/unlock", data={"csrf_token": csrf}).status_code == 303
    )
    assert "没有登录失败记录" in _text(client.get("/admin/users/clerk.new"))
    assert submit_login(app.test_client(), "clerk.new", "second-pass-2").status_code == 303


def test_own_role_cannot_be_changed_and_other_units_users_are_not_found(logged_in: Any) -> None:
    client, csrf = logged_in("admin.hf")
    own = _text(client.get("/admin/users/admin.hf"))
    assert "不能更改自己的角色、单位或启用状态" in own and '<select id="role"' not in own
    assert "单位：合肥市（ah-hf）" in own
    forged = client.post(
        "/admin/users/admin.hf",
        data={
            "csrf_token": csrf,
            "display_name": "admin hf",
            "role": "designer",
            "org_unit": "ah-hf",
            "active": "1",
        },
    )
    assert (
        forged.status_code == 422
        and _error(_text(forged), "role") == "不能更改自己的角色、单位或启用状态"
    )
    assert client.get("/admin/users/admin.wh").status_code == 404
    assert "admin.wh" not in _text(client.get("/admin/users"))
    assert client.post("/admin/users/admin.wh/unlock", data={"csrf_token": csrf}).status_code == 404


def test_writes_need_the_csrf_token(logged_in: Any) -> None:
    client, _ = logged_in("admin.hf")
    for path, data in [
        ("/admin/users/new", {"username": "x.y"}),
        ("/admin/users/discipline.hf/unlock", {}),
        ("/admin/units", {"code": "x"}),
        ("/admin/calendar/days", {"day": "2027-10-01"}),
        ("/admin/calendar/years", {"declare_year": "2030"}),
        ("/admin/deadlines", {}),
    ]:
        response = client.post(path, data=data)
        assert response.status_code == 403 and "CSRF" in _text(response), path


# -- units ------------------------------------------------------------------------------------
def test_unit_tree_and_creating_a_unit(logged_in: Any, rt: Runtime) -> None:
    client, csrf = logged_in("admin.hf")
    tree = _text(client.get("/admin/units"))
    assert (
        tree.index('id="unit-ah-hf"')
        < tree.index('id="unit-ah-hf-fd"')
        < tree.index("</ul>\n  </li>")
    )
    assert 'id="unit-ah-wh"' not in tree and 'id="unit-ah"' not in tree
    bad = client.post(
        "/admin/units",
        data={
            "csrf_token": csrf,
            "code": "no spaces",
            "name": "",
            "level": "town",
            "parent": "ah-hf",
        },
    )
    page = _text(bad)
    assert bad.status_code == 422
    assert _error(page, "code") == "只能包含字母、数字和 _ -"
    assert _error(page, "name") == "长度应在 1 到 200 之间"
    assert _error(page, "level").startswith("应为以下之一：province")
    assert 'value="no spaces"' in page
    higher = _text(
        client.post(
            "/admin/units",
            data={
                "csrf_token": csrf,
                "code": "ah-hf-x",
                "name": "某市",
                "level": "province",
                "parent": "ah-hf",
            },
        )
    )
    assert _error(higher, "level") == "不能高于上级单位的层级（city）"
    done = client.post(
        "/admin/units",
        data={
            "csrf_token": csrf,
            "code": "ah-hf-cf",
            "name": "长丰县",
            "level": "county",
            "parent": "ah-hf",
        },
    )
    assert done.status_code == 303
    assert 'id="unit-ah-hf-cf"' in _text(client.get("/admin/units"))
    with rt.db.reading() as session:
        assert session.get(OrgUnit, "ah-hf-cf") is not None
    assert _last_audit(rt).action == "admin.org_unit.create"


# -- calendar and deadlines -------------------------------------------------------------------
def test_calendar_year_shows_how_its_days_are_decided(logged_in: Any) -> None:
    client, _ = logged_in("admin.hf")
    assert "国务院办公厅公布的节假日安排已收录" in _text(client.get("/admin/calendar?year=2026"))
    assert "已声明按周一至周五计工作日" in _text(client.get("/admin/calendar?year=2027"))
    unknown = _text(client.get("/admin/calendar?year=2031"))
    assert "在本年度计算期限会报错" in unknown and 'name="declare_year"' in unknown
    bad = client.get("/admin/calendar?year=abc")
    assert (
        bad.status_code == 422 and _error(_text(bad), "year") == "年度应为 2000 到 2100 之间的整数"
    )
    assert 'value="abc"' in _text(bad)


def test_setting_clearing_a_day_and_declaring_a_year(logged_in: Any, rt: Runtime) -> None:
    client, csrf = logged_in("admin.hf")
    bad = client.post(
        "/admin/calendar/days",
        data={
            "csrf_token": csrf,
            "year": "2027",
            "day": "2027-13-01",
            "kind": "",
            "note": "国庆节",
        },
    )
    page = _text(bad)
    assert bad.status_code == 422
    assert _error(page, "day") == "日期格式不对，应为 YYYY-MM-DD"
    assert _error(page, "kind") == "请选择假日或工作日"
    assert 'value="国庆节"' in page and 'value="2027-13-01"' in page
    far = _text(
        client.post(
            "/admin/calendar/days",
            data={"csrf_token": csrf, "year": "2027", "day": "2150-01-01", "kind": "holiday"},
        )
    )
    assert _error(far, "day") == "应在 2000 到 2100 之间"
    done = client.post(
        "/admin/calendar/days",
        data={
            "csrf_token": csrf,
            "year": "2027",
            "day": "2027-10-01",
            "kind": "holiday",
            "note": "国庆节",
        },
    )
    assert done.status_code == 303 and done.headers["Location"] == "/admin/calendar?year=2027"
    page = _text(client.get("/admin/calendar?year=2027"))
    assert 'id="day-2027-10-01"' in page and "国庆节" in page
    assert _last_audit(rt).action == "calendar.set_day"
    assert (
        client.post("/admin/calendar/days/2027-10-01/clear", data={"csrf_token": csrf}).status_code
        == 303
    )
    with rt.db.reading() as session:
        assert session.get(CalendarOverride, date(2027, 10, 1)) is None
    assert (
        client.post("/admin/calendar/days/2027-10-01/clear", data={"csrf_token": csrf}).status_code
        == 404
    )
    assert (
        client.post("/admin/calendar/days/someday/clear", data={"csrf_token": csrf}).status_code
        == 404
    )

    wrong = client.post(
        "/admin/calendar/years",
        data={
            "csrf_token": csrf,
            "year": "2031",
            "declare_year": "1999",
            "declare_note": "x" * 201,
        },
    )
    page = _text(wrong)
    assert wrong.status_code == 422
    assert _error(page, "declare_year") == "应在 2000 到 2100 之间"
    assert _error(page, "declare_note") == "长度不能超过 200"
    declared = client.post(
        "/admin/calendar/years",
        data={
            "csrf_token": csrf,
            "year": "2031",
            "declare_year": "2031",
            "declare_note": "暂按周一至周五",
        },
    )
    assert declared.headers["Location"] == "/admin/calendar?year=2031"
    with rt.db.reading() as session:
        assert session.get(CalendarYear, 2031).note == "暂按周一至周五"


def test_deadline_settings_are_checked_field_by_field(logged_in: Any, rt: Runtime) -> None:
    client, csrf = logged_in("admin.hf")
    page = _text(client.get("/admin/deadlines"))
    assert "申诉期限（月，自收到决定之日起）" in page and 'value="1"' in page and "默认 1" in page
    bad = client.post("/admin/deadlines", data={"csrf_token": csrf, "appeal_window_months": "1.5"})
    assert bad.status_code == 422 and _error(_text(bad), "appeal_window_months") == "应为整数"
    assert 'value="1.5"' in _text(bad)
    empty = client.post("/admin/deadlines", data={"csrf_token": csrf, "appeal_window_months": ""})
    assert _error(_text(empty), "appeal_window_months") == "请填写"
    good = client.post("/admin/deadlines", data={"csrf_token": csrf, "appeal_window_months": "2"})
    assert good.status_code == 303
    page = _text(client.get("/admin/deadlines"))
    assert "已保存期限设置" in page and 'value="2"' in page
    changes = json.loads(_last_audit(rt).detail)["changes"]
    assert changes["appeal_window_months"] == {"from": 1, "to": 2}


def _limit_row(page: str, key: str) -> str:
    start = page.index(f'<tr id="limit-{key}"')
    return page[start : page.index("</tr>", start)]


def test_step_time_limits_are_listed_changed_refused_and_reset(
    logged_in: Any, rt: Runtime, world: World
) -> None:
    """Every step of the newest versions, with its rule and where it comes from; an editable
    step's limit changes for later steps (audited with the values before); a fixed one and bad
    numbers are refused beside the field, nothing stored."""
    client, csrf = logged_in("admin.hf")
    page = _text(client.get("/admin/deadlines"))
    assert "各步骤办理时限" in page
    investigate = _limit_row(page, "accountability-investigate")
    assert "立案之日起30个工作日，到期前5个工作日提醒" in investigate and "流程默认" in investigate
    review = _limit_row(page, "appeal-review")
    assert "不可修改" in review and "<form" not in review  # a policy's month
    url = "/admin/time-limits/accountability/investigate"
    for values, field, message in (
        ({"amount": "0", "unit": "workdays"}, "amount", "时限须为正整数"),
        ({"amount": "abc", "unit": "workdays"}, "amount", "时限须为正整数"),
        ({"amount": "9999", "unit": "workdays"}, "amount", "时限不能超过 10 年（2500个工作日）"),
        ({"amount": "20", "unit": "weeks"}, "unit", "时限单位须为"),
        (
            {"amount": "20", "unit": "workdays", "reminder_workdays": "-1"},
            "reminder_workdays",
            "临期提醒须为正整数个工作日",
        ),
        ({"amount": "", "unit": "workdays"}, "amount", "请填写时限"),
    ):
        refused = client.post(url, data={"csrf_token": csrf, **values})
        assert refused.status_code == 422, values
        row = _limit_row(_text(refused), "accountability-investigate")
        assert _error(row, f"{_FIELD_IDS[field]}-accountability-investigate").startswith(message)
    fixed = client.post(
        "/admin/time-limits/appeal/review",
        data={"csrf_token": csrf, "amount": "2", "unit": "months"},
    )
    assert fixed.status_code == 422 and "时限不能修改" in _limit_row(_text(fixed), "appeal-review")
    with rt.db.reading() as session:
        assert session.execute(select(TimeLimitSetting)).first() is None
    saved = client.post(
        url, data={"csrf_token": csrf, "amount": "20", "unit": "workdays", "reminder_workdays": "3"}
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith(
        "#limit-accountability-investigate"
    )
    audit = _last_audit(rt)
    assert (audit.action, audit.actor) == ("settings.time_limit", "admin.hf")
    detail = json.loads(audit.detail)
    assert detail["before"]["amount"] == 30 and detail["after"] == {
        "amount": 20,
        "unit": "workdays",
        "reminder_workdays": 3,
        "source": "setting",
    }
    row = _limit_row(_text(client.get("/admin/deadlines")), "accountability-investigate")
    assert "立案之日起20个工作日，到期前3个工作日提醒" in row and "本部署设置" in row
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    assert "20个工作日" in (world.task(case, "investigate").due_basis or "")
    reset = client.post(url + "/reset", data={"csrf_token": csrf})
    assert reset.status_code == 303
    row = _limit_row(_text(client.get("/admin/deadlines")), "accountability-investigate")
    assert "立案之日起30个工作日" in row and "流程默认" in row
    assert json.loads(_last_audit(rt).detail)["after"]["amount"] == 30


_FIELD_IDS = {"amount": "amount", "unit": "unit", "reminder_workdays": "reminder"}


# -- audit trail ------------------------------------------------------------------------------
def test_audit_search_pages_and_bad_dates(logged_in: Any, world: World) -> None:
    world.open("accountability", data=FINDING)
    client, csrf = logged_in("admin.hf")
    for day in ("2027-10-01", "2027-10-02"):
        client.post(
            "/admin/calendar/days",
            data={"csrf_token": csrf, "year": "2027", "day": day, "kind": "holiday"},
        )
    page = _text(client.get("/admin/audit?action=calendar.set_day&actor=admin.hf"))
    assert page.count('<tr id="audit-') == 2 and "共 2 条" in page
    assert 'value="calendar.set_day"' in page
    dated = _text(
        client.get("/admin/audit?action=calendar.set_day&since=2026-03-02&until=2026-03-02")
    )
    assert dated.count('<tr id="audit-') == 2
    assert (
        _text(client.get("/admin/audit?action=calendar.set_day&since=2026-03-03")).count(
            '<tr id="audit-'
        )
        == 0
    )
    bad = client.get("/admin/audit?since=yesterday&until=2026-01-01&actor=x")
    page = _text(bad)
    assert bad.status_code == 422 and _error(page, "f-since") == "日期格式不对，应为 YYYY-MM-DD"
    assert 'value="yesterday"' in page and "请先改正查询条件" in page
    reversed_ = _text(client.get("/admin/audit?since=2026-03-05&until=2026-03-01"))
    assert _error(reversed_, "f-until") == "截止日期不能早于起始日期"
    other, _ = logged_in("admin.wh")
    assert _text(other.get("/admin/audit?action=calendar.set_day")).count('<tr id="audit-') == 0


def test_chain_verification_says_it_is_intact(logged_in: Any) -> None:
    client, csrf = logged_in("admin.hf")
    done = client.post(
        "/admin/audit/verify", data={"csrf_token": csrf, "next": "/admin/audit?actor=admin.hf"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/admin/audit?actor=admin.hf"
    assert re.search(r"审计链完整：已验证 \d+ 条记录", _text(client.get(done.headers["Location"])))
    away = client.post(
        "/admin/audit/verify", data={"csrf_token": csrf, "next": "https://elsewhere.example/"}
    )
    assert away.headers["Location"] == "/admin/audit"

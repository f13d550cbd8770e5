"""督查 pages over the test client: who may see them, urge and escalate from the overdue list,
errors next to the note field, and the lists as CSV and XLSX."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.ui import export
from tests.conftest import set_clock
from tests.support.kept import kept
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime
from workflows.tasks.models import Notification, TaskUrge

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
OVERDUE_HEADERS = [
    "案件编号",
    "当事干部",
    "流程",
    "任务",
    "角色",
    "单位",
    "办理人",
    "期限",
    "期限依据",
    "逾期工作日",
    "督办期限",
    "督办",
    "催办次数",
    "其中督办上报",
    "最近催办时间",
    "最近催办人",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


BASIS = "立案之日 2026-03-02 起30个工作日"


def _registered(world: World, cadre: str = "zhang") -> CaseFile:
    """Investigate is due 2026-04-15 00:00 (BASIS); the tolerance consideration, due with it,
    is done: only the investigation can run late."""
    case = world.open("accountability", cadre=cadre, data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    world.complete(
        case,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )
    return case


def _two_late(world: World, rt: Runtime) -> dict[str, int]:
    hf, fd = _registered(world), _registered(world, cadre="li")
    set_clock(rt, "2026-04-20 09:00")
    return {
        "hf": hf.id,
        "fd": fd.id,
        "hf_task": world.task(hf, "investigate").id,
        "fd_task": world.task(fd, "investigate").id,
    }


@pytest.fixture
def late(world: World, rt: Runtime) -> dict[str, Any]:
    """Two investigations five days overdue on 2026-04-20: 合肥市's (张三) and 肥东县's (李四).
    Built once per backend, restored for later tests (tests/support/kept.py)."""
    ids = kept(rt, "supervision: two late investigations", lambda: _two_late(world, rt))
    return {**ids, "hf": world.case(ids["hf"]), "fd": world.case(ids["fd"])}


def _urges(rt: Runtime, task_id: int) -> list[TaskUrge]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(TaskUrge).where(TaskUrge.task_id == task_id).order_by(TaskUrge.id)
            ).scalars()
        )


def _csv_rows(body: bytes) -> list[list[str]]:
    """The table of a CSV export (header row first), its preamble checked and left out."""
    assert body.startswith(b"\xef\xbb\xbf"), "CSV without the UTF-8 BOM Excel needs"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][0].startswith("统计时点：") and rows[2][0].startswith("筛选条件：")
    return rows[export.PREAMBLE_ROWS :]


def _xlsx_rows(body: bytes) -> list[list[Any]]:
    """The table of an XLSX export (header row first), its preamble left out."""
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    rows = [[("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return rows[export.PREAMBLE_ROWS :]


def test_an_export_names_its_title_moment_and_filters_and_filters_its_table(
    logged_in: Any, late: dict[str, Any]
) -> None:
    client, _ = logged_in("discipline.hf")
    body = client.get("/cases/export.csv?overdue=1&process=accountability&q=张").data
    preamble = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[: export.PREAMBLE_ROWS]
    assert preamble == [
        ["案件"],
        ["统计时点：2026-04-20 09:00"],
        ["筛选条件：种类：问责；逾期：仅逾期；关键词：张"],
        [],
    ]
    everything = client.get("/tasks/export.xlsx?queue=role").data
    sheet = load_workbook(io.BytesIO(everything)).active
    assert sheet is not None
    assert [sheet.cell(row=r, column=1).value for r in (1, 2, 3)] == [
        "本岗位待办",
        "统计时点：2026-04-20 09:00",
        "筛选条件：无（全部）",
    ]
    assert sheet.cell(row=1, column=1).font.bold
    header = export.PREAMBLE_ROWS + 1
    assert sheet.cell(row=header, column=1).value == "案件编号"
    assert sheet.auto_filter.ref == f"A{header}:K{sheet.max_row}"
    assert sheet.freeze_panes == f"A{header + 1}"
    supervisor, _ = logged_in("supervisor.hf")
    overdue = supervisor.get("/supervision/overdue.csv?org_unit=ah-hf").data
    assert "筛选条件：单位：合肥市" in overdue.decode("utf-8-sig")


# -- who may see ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["discipline.hf", "committee.hf", "designer.hf", "zhang"])
@pytest.mark.parametrize(
    "path",
    [
        "/supervision",
        "/supervision/overdue",
        "/supervision/overdue.csv",
        "/supervision/overdue.xlsx",
    ],
)
def test_others_get_the_forbidden_page(
    logged_in: Any, world: World, username: str, path: str
) -> None:
    client, _ = logged_in(username)
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "无权操作" in html and "只有督查人员可以查看督查汇总和逾期清单" in html
    assert '<a href="/supervision">' not in html  # and the header does not offer the page


def test_strangers_are_sent_to_login(app: Flask, world: World) -> None:
    response = app.test_client().get("/supervision/overdue?role=discipline")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/supervision/overdue?role%3Ddiscipline"


# -- the dashboard --------------------------------------------------------------------------


def test_dashboard_shows_counts_as_charts_and_tables(logged_in: Any, late: dict[str, Any]) -> None:
    client, _ = logged_in("supervisor.hf")
    html = client.get("/supervision").get_data(as_text=True)
    assert '<a href="/supervision" aria-current="page">督查</a>' in html
    for key in ("by_org_unit", "by_process", "by_role", "aging"):
        assert f'<canvas id="chart-{key}" role="img"' in html
    assert "/vendor/chart.js/chart.umd.min.js" in html
    data = json.loads(
        re.search(
            r'<script type="application/json" id="supervision-data">(.*?)</script>', html, re.DOTALL
        ).group(1)
    )
    units = dict(zip(data["by_org_unit"]["labels"], data["by_org_unit"]["overdue"], strict=True))
    assert units == {"合肥市": 1, "肥东县": 1}
    assert data["aging"]["overdue"] == [0, 2, 0, 0, 0]  # four working days overdue: 4–7
    assert data["series"]["overdue"] == "已逾期"
    # the same numbers in tables, each overdue count linking to the filtered list
    assert (
        '<a href="/supervision/overdue?org_unit=ah-hf-fd" aria-label="肥东县 逾期 1 件：查看清单">1</a>'
        in html
    )
    assert '<a href="/supervision/overdue?role=discipline"' in html
    assert '<th scope="row">逾期 4–7 个工作日</th><td class="num">2</td>' in html
    # the oldest overdue, with cadre and days
    oldest = html[html.index('id="h-oldest"') :]
    assert "张三" in oldest and "李四" in oldest and late["hf"].number in oldest


def test_dashboard_in_english(logged_in: Any, late: dict[str, Any]) -> None:
    client, _ = logged_in("supervisor.hf")
    html = client.get("/supervision?lang=en").get_data(as_text=True)
    assert "Overdue 4–7 working days" in html and '"overdue": "Overdue"' in html


def test_admin_sees_the_lists_but_does_not_urge(
    logged_in: Any, late: dict[str, Any], rt: Runtime
) -> None:
    client, csrf = logged_in("admin.hf")
    assert client.get("/supervision").status_code == 200
    html = client.get("/supervision/overdue").get_data(as_text=True)
    assert "张三" in html and "催办 / 督办" not in html
    refused = client.post(
        f"/supervision/overdue/{late['hf_task']}/urge", data={"csrf_token": csrf, "note": "快"}
    )
    assert refused.status_code == 403 and _urges(rt, late["hf_task"]) == []


# -- the overdue list -----------------------------------------------------------------------


def test_overdue_list_filters_and_pages(logged_in: Any, late: dict[str, Any]) -> None:
    client, _ = logged_in("supervisor.hf")
    html = client.get("/supervision/overdue").get_data(as_text=True)
    assert html.count('class="overdue"') == 2
    row = html[html.index(f'id="overdue-{late["hf_task"]}"') :].split("</tr>")[0]
    assert BASIS in row  # the due date is shown with its basis
    county = client.get("/supervision/overdue?org_unit=ah-hf-fd").get_data(as_text=True)
    assert "李四" in county and "张三" not in county
    assert '<option value="ah-hf-fd" selected>' in county
    assert "没有符合条件的逾期任务" in client.get("/supervision/overdue?role=committee").get_data(
        as_text=True
    )
    # unknown filter values mean "all", never an error or another unit's work
    assert (
        client.get("/supervision/overdue?org_unit=ah-wh&role=nobody&page=x")
        .get_data(as_text=True)
        .count('class="overdue"')
        == 2
    )
    assert client.get("/supervision/overdue?page=9").headers["Location"] == "/supervision/overdue"


def test_urge_with_a_note_is_recorded_and_counted(
    logged_in: Any, late: dict[str, Any], rt: Runtime
) -> None:
    client, csrf = logged_in("supervisor.hf")
    task_id = late["hf_task"]
    response = client.post(
        f"/supervision/overdue/{task_id}/urge?org_unit=ah-hf",
        data={"csrf_token": csrf, "note": "请于本周五前报送调查报告"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/supervision/overdue?org_unit=ah-hf"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已催办：责任调查" in html
    row = html[html.index(f'id="overdue-{task_id}"') :]
    assert '<td data-label="催办次数" class="num urges">1' in row
    assert "2026-04-20 09:00" in row and "supervisor hf（合肥市·督查）" in row
    assert "supervisor.hf" not in row
    [urge] = _urges(rt, task_id)
    assert (urge.note, urge.urged_by) == ("请于本周五前报送调查报告", "supervisor.hf")
    with rt.db.reading() as session:
        told = set(
            session.execute(
                select(Notification.username).where(Notification.kind == "urged")
            ).scalars()
        )
        assert told == {"discipline.hf", "discipline2.hf"}
        assert (
            session.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "task.urge")
            ).scalar_one()
            == 1
        )


def test_urge_without_a_note_says_so_next_to_the_field(
    logged_in: Any, late: dict[str, Any], rt: Runtime
) -> None:
    client, csrf = logged_in("supervisor.hf")
    task_id = late["hf_task"]
    response = client.post(
        f"/supervision/overdue/{task_id}/urge?role=discipline",
        data={"csrf_token": csrf, "note": "   "},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    row = html[
        html.index(f'id="overdue-{task_id}"') : html.index(
            "</tr>", html.index(f'id="overdue-{task_id}"')
        )
    ]
    assert '<details class="press" open>' in row
    assert f'<p class="field-error" id="note-{task_id}-error">催办说明应为 1–1000 个字</p>' in row
    assert re.search(
        rf'<textarea id="note-{task_id}"[^>]*aria-invalid="true" '
        rf'aria-describedby="note-{task_id}-error" autofocus',
        row,
    )
    assert '<option value="discipline" selected>' in html  # the filters are kept
    other = html[html.index(f'id="overdue-{late["fd_task"]}"') :]
    assert '<details class="press">' in other.split("</tr>")[0]  # other rows stay closed
    assert _urges(rt, task_id) == []
    # the address of that answer, reloaded, is the list again
    assert (
        client.get(f"/supervision/overdue/{task_id}/urge?role=discipline").headers["Location"]
        == "/supervision/overdue?role=discipline"
    )


def test_a_long_note_is_refused_and_kept(logged_in: Any, late: dict[str, Any]) -> None:
    client, csrf = logged_in("supervisor.hf")
    note = "催" * 1001
    response = client.post(
        f"/supervision/overdue/{late['hf_task']}/urge", data={"csrf_token": csrf, "note": note}
    )
    assert response.status_code == 422 and note in response.get_data(as_text=True)


def test_urge_needs_the_csrf_token(logged_in: Any, late: dict[str, Any], rt: Runtime) -> None:
    client, _ = logged_in("supervisor.hf")
    refused = client.post(f"/supervision/overdue/{late['hf_task']}/urge", data={"note": "请抓紧"})
    assert refused.status_code == 403 and _urges(rt, late["hf_task"]) == []


def test_another_units_supervisor_cannot_urge(
    logged_in: Any, late: dict[str, Any], rt: Runtime
) -> None:
    client, csrf = logged_in("supervisor.wh")
    refused = client.post(
        f"/supervision/overdue/{late['hf_task']}/urge", data={"csrf_token": csrf, "note": "快"}
    )
    assert refused.status_code == 404 and _urges(rt, late["hf_task"]) == []


def test_escalate_tells_more_people_and_shows_in_the_count(
    logged_in: Any, late: dict[str, Any], rt: Runtime
) -> None:
    client, csrf = logged_in("supervisor.hf")
    task_id = late[
        "fd_task"
    ]  # 肥东县: no committee or supervisor users there, 合肥市 has no supervisors above
    response = client.post(
        f"/supervision/overdue/{task_id}/escalate",
        data={"csrf_token": csrf, "note": "逾期未报，督办"},
    )
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已督办上报：责任调查（已通知 0 人）" in html
    row = html[html.index(f'id="overdue-{task_id}"') :]
    assert (
        '<td data-label="催办次数" class="num urges">1 <span class="muted">（督办上报 1）</span>'
        in row
    )
    assert [u.note for u in _urges(rt, task_id)] == ["【督办上报】逾期未报，督办"]


def test_escalating_work_that_is_no_longer_overdue_says_why(
    logged_in: Any, world: World, late: dict[str, Any], rt: Runtime
) -> None:
    fresh = _registered(world)  # registered today: due in 30 working days
    client, csrf = logged_in("supervisor.hf")
    response = client.post(
        f"/supervision/overdue/{world.task(fresh, 'investigate').id}/escalate",
        data={"csrf_token": csrf, "note": "请抓紧"},
    )
    assert response.status_code == 303
    assert "尚未逾期：督办上报只用于逾期任务" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


# -- exports --------------------------------------------------------------------------------


def test_overdue_list_as_csv_with_bom_and_chinese_headers(
    logged_in: Any, late: dict[str, Any], rt: Runtime
) -> None:
    client, csrf = logged_in("supervisor.hf")
    client.post(
        f"/supervision/overdue/{late['hf_task']}/urge", data={"csrf_token": csrf, "note": "请抓紧"}
    )
    response = client.get("/supervision/overdue.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="overdue-2026-04-20.csv"')
    assert unquote(disposition.split("UTF-8''")[1]) == "逾期清单-2026-04-20.csv"
    rows = _csv_rows(response.data)
    assert rows[0] == OVERDUE_HEADERS
    by_cadre = {row[1]: row for row in rows[1:]}
    assert set(by_cadre) == {"张三", "李四"}
    zhang = by_cadre["张三"]
    assert zhang[:9] == [
        late["hf"].number,
        "张三",
        "问责",
        "责任调查",
        "纪检监察机关",
        "合肥市",
        "",
        "2026-04-14",
        BASIS,
    ]
    # due 04-14: 04-15, 04-16, 04-17 and 04-20 are late; no 督办期限 set
    assert zhang[9:] == ["4", "", "", "1", "0", "2026-04-20 09:00", "supervisor hf（合肥市·督查）"]


def test_overdue_list_as_xlsx_with_the_pages_filters(logged_in: Any, late: dict[str, Any]) -> None:
    client, _ = logged_in("supervisor.hf")
    html = client.get("/supervision/overdue?org_unit=ah-hf-fd").get_data(as_text=True)
    assert 'href="/supervision/overdue.xlsx?org_unit=ah-hf-fd"' in html
    response = client.get("/supervision/overdue.xlsx?org_unit=ah-hf-fd")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert 'filename="overdue-2026-04-20.xlsx"' in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.active is not None and book.active.title == "逾期清单"
    rows = _xlsx_rows(response.data)
    assert rows[0] == OVERDUE_HEADERS
    assert [(r[0], r[1], r[5], r[7], r[8], r[9]) for r in rows[1:]] == [
        (late["fd"].number, "李四", "肥东县", "2026-04-14", BASIS, 4)
    ]


def test_inbox_exports_the_queue_with_its_filters(
    logged_in: Any, world: World, late: dict[str, Any]
) -> None:
    fresh = _registered(world)  # a second in 合肥市, not overdue (肥东县's is not discipline.hf's)
    client, _ = logged_in("discipline.hf")
    html = client.get("/tasks?queue=role&overdue=1").get_data(as_text=True)
    assert 'href="/tasks/export.xlsx?queue=role&amp;overdue=1"' in html
    response = client.get("/tasks/export.csv?queue=role&overdue=1")
    assert response.status_code == 200
    assert 'filename="tasks-role-2026-04-20.csv"' in response.headers["Content-Disposition"]
    rows = _csv_rows(response.data)
    assert rows[0] == [
        "案件编号",
        "当事干部",
        "流程",
        "任务",
        "角色",
        "单位",
        "期限",
        "期限依据",
        "状态",
        "办理人",
        "委派人",
    ]
    assert rows[1:] == [
        [
            late["hf"].number,
            "张三",
            "问责",
            "责任调查",
            "纪检监察机关",
            "合肥市",
            "2026-04-14",
            BASIS,
            "逾期",
            "",
            "",
        ]
    ]
    every = _xlsx_rows(client.get("/tasks/export.xlsx?queue=role").data)
    marks = {(r[0], r[3]): r[8] for r in every[1:]}
    assert (
        marks[(late["hf"].number, "责任调查")] == "逾期" and marks[(fresh.number, "责任调查")] == ""
    )
    found = _xlsx_rows(client.get(f"/tasks/export.xlsx?queue=role&q={fresh.number}").data)
    assert {r[0] for r in found[1:]} == {fresh.number}


def test_done_queue_exports_completion_columns(logged_in: Any, late: dict[str, Any]) -> None:
    client, _ = logged_in("discipline.hf")
    rows = _csv_rows(client.get("/tasks/export.csv?queue=done").data)
    assert rows[0][-2:] == ["办结时间", "办理人"]
    assert {(r[3], r[-1]) for r in rows[1:]} == {
        ("立案", "discipline hf（合肥市·纪检监察机关）"),
        ("同步考虑容错情形", "discipline hf（合肥市·纪检监察机关）"),
    }


def test_exports_keep_formula_like_text_as_text(logged_in: Any, world: World, rt: Runtime) -> None:
    case = world.open("accountability", cadre=None, person='=HYPERLINK("http://x")', data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    set_clock(rt, "2026-04-20 09:00")
    client, _ = logged_in("supervisor.hf")
    assert (
        _csv_rows(client.get("/supervision/overdue.csv").data)[1][1] == '\'=HYPERLINK("http://x")'
    )
    sheet = load_workbook(io.BytesIO(client.get("/supervision/overdue.xlsx").data)).active
    assert sheet is not None
    cell = sheet.cell(row=export.PREAMBLE_ROWS + 2, column=2)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"


def test_case_list_exports_with_its_filters(
    logged_in: Any, world: World, late: dict[str, Any]
) -> None:
    client, _ = logged_in("discipline.hf")
    html = client.get("/cases?overdue=1").get_data(as_text=True)
    assert 'href="/cases/export.csv?overdue=1"' in html
    response = client.get("/cases/export.csv?overdue=1")
    assert response.status_code == 200
    assert 'filename="cases-2026-04-20.csv"' in response.headers["Content-Disposition"]
    rows = _csv_rows(response.data)
    assert rows[0] == [
        "案件编号",
        "种类",
        "当事人",
        "标题",
        "单位",
        "状态",
        "结果",
        "最近期限",
        "逾期",
        "立案日期",
        "立案人",
        "结案时间",
    ]
    assert [(r[0], r[2], r[4], r[8]) for r in rows[1:]] == [
        (late["hf"].number, "张三", "合肥市", "逾期")
    ]
    registered_on = world.case(late["hf"].id).registered_on  # 立案日期, not the entry time
    assert rows[1][9] == str(registered_on)
    assert rows[1][7] == "2026-04-14"  # the earliest deadline of its open steps
    sheet = _xlsx_rows(client.get("/cases/export.xlsx").data)
    assert {r[0] for r in sheet[1:]} == {late["hf"].number}  # 肥东县's case is not discipline.hf's
    assert _csv_rows(client.get("/cases/export.csv?q=nothing-like-this").data)[1:] == []

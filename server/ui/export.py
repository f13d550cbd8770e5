"""Lists as files (导出): CSV and XLSX from headers and rows, with Chinese headers; and the
exports of the inbox (/tasks/export.csv|.xlsx) and the case list (/cases/export.csv|.xlsx).

A page's export route reads the page's own views with the same filters (the domain's
`queue_rows` and `case_list`: no paging, at most EXPORT_MAX rows) and hands `table_file` the
headers, the rows and the filters in words. A file opens with its title, its 统计时点 (the
moment it was read) and the filters used, a blank row, then the table; in XLSX the table has
an autofilter and its header row stays in view. CSV is UTF-8 with a BOM so that Excel reads
the Chinese right; XLSX is written by openpyxl. Moments are written in the deployment's time zone; a text cell that a
spreadsheet would take for a formula (=, +, -, @ …) is kept as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from server import auth
from server.ui import case_pages, inbox
from server.ui.common import bp, deadline, redirect_with
from server.ui.layout import ROLE_LABELS
from workflows import access
from workflows.cases import service as cases
from workflows.cases import views as case_views
from workflows.tasks import queues
from workflows.tasks import views as task_views

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: More rows than this are refused: narrow the filters instead of a truncated file.
EXPORT_MAX = 50_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: Rows above the table: the title, the 统计时点, the filters, a blank row.
PREAMBLE_ROWS = 4


def table_file(
    *,
    fmt: str,
    name: str,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    filters: Sequence[tuple[str, str]] = (),
) -> Response:
    """A download of the rows as `fmt` (csv or xlsx), named `<name>-<today>.<fmt>` (and, for
    browsers that take it, `<title>-<today>.<fmt>`), under a preamble naming the title, the
    统计时点 and the `filters` used (label, value in words)."""
    clock = auth.runtime().clock
    today = clock.today()
    as_text = fmt == "csv"
    used = "；".join(f"{label}：{value}" for label, value in filters) or _("无（全部）")
    moment = clock.now().astimezone(clock.tz).strftime("%Y-%m-%d %H:%M")
    preamble = [
        [title],
        [_("统计时点：%(at)s", at=moment)],
        [_("筛选条件：%(used)s", used=used)],
        [],
    ]
    cells = ([_cell(value, quote_formulas=as_text) for value in row] for row in rows)
    body = _csv(preamble, headers, cells) if as_text else _xlsx(title, preamble, headers, cells)
    response = Response(body, mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{today:%Y-%m-%d}.{fmt}"; '
        f"filename*=UTF-8''{quote(f'{title}-{today:%Y-%m-%d}.{fmt}')}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def too_many(back: str) -> Response:
    """The answer when a list is longer than EXPORT_MAX: back to the list, saying why."""
    return redirect_with(
        back, _("超过 %(n)d 条，无法导出：请先缩小筛选范围", n=EXPORT_MAX), "error"
    )


def _cell(value: Any, *, quote_formulas: bool) -> Any:
    """A value as a spreadsheet cell: moments local, None empty; in CSV, formula-like text
    gets a leading apostrophe (XLSX marks every text cell as text instead)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(auth.runtime().clock.tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if quote_formulas and text.startswith(_FORMULA_START) else text


def _csv(preamble: list[list[str]], headers: Sequence[str], rows: Iterable[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(preamble)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _xlsx(
    title: str, preamble: list[list[str]], headers: Sequence[str], rows: Iterable[list[Any]]
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for line in preamble:
        sheet.append(line)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    top = len(preamble) + 1  # the header row
    sheet.append(list(headers))
    for cell in sheet[top]:
        cell.font = Font(bold=True)
    widths = [_width(h) for h in headers]
    for row in rows:
        sheet.append(row)
        widths = [max(w, _width(v)) for w, v in zip(widths, row, strict=False)]
    for row_cells in sheet.iter_rows(min_row=top + 1):
        for cell in row_cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=top, column=index).column_letter].width = min(
            60, width + 2
        )
    last = sheet.cell(row=max(sheet.max_row, top), column=len(headers)).coordinate
    sheet.auto_filter.ref = f"A{top}:{last}"
    sheet.freeze_panes = f"A{top + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _width(value: Any) -> int:
    """Display width of a cell: a CJK character takes two columns."""
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# -- the inbox (待办) ------------------------------------------------------------------------


@bp.get("/tasks/export.<any(csv, xlsx):fmt>")
def inbox_export(fmt: str) -> Any:
    """The inbox queue with the page's filters and sort, every page, as CSV or XLSX."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        access.check_may_export(principal)
        processes = task_views.process_names(session)
        asked = inbox._asked(request.args, processes)  # read as the page reads it
        queue = asked.queue or (
            "mine"
            if task_views.queue_lengths(session, principal, clock=rt.clock, of=("mine",))["mine"]
            else "role"
        )
        filters = queues.Filters(
            queue=queue,
            process=asked.process,
            overdue=asked.overdue,
            text=asked.text,
            sort=asked.sort,
        )
        rows = task_views.queue_rows(
            session, principal, filters, clock=rt.clock, limit=EXPORT_MAX + 1
        )
    if len(rows) > EXPORT_MAX:
        return too_many(url_for("ui.inbox", **asked.params(queue=queue, page=1)))
    done = queue == "done"
    headers = [_("案件编号"), _("当事干部"), _("流程"), _("任务"), _("角色"), _("单位")]
    headers += (
        [_("办结时间"), _("办理人")]
        if done
        else [_("期限"), _("期限依据"), _("状态"), _("办理人"), _("委派人")]
    )

    def line(t: task_views.TaskView) -> list[Any]:
        first = [
            t.case_number,
            t.subject_name,
            t.process_name,
            t.name,
            str(ROLE_LABELS.get(t.role or "", t.role or "")),
            t.org_unit_name or t.org_unit,
        ]
        if done:
            return [*first, t.completed_at, t.completed_by_name]
        state = _("逾期") if t.overdue else _("即将到期") if t.due_soon else ""
        return [*first, deadline(t.due_at), t.due_basis, state, t.assignee_name, t.owner_name]

    title = {"mine": _("我的待办"), "role": _("本岗位待办"), "done": _("已办")}[queue]
    used = used_filters(
        (_("流程"), processes.get(asked.process or "", asked.process)),
        (_("逾期"), _yes_no(asked.overdue)),
        (_("关键词"), asked.text),
    )
    return table_file(
        fmt=fmt,
        name=f"tasks-{queue}",
        title=title,
        headers=headers,
        rows=map(line, rows),
        filters=used,
    )


def used_filters(*pairs: tuple[str, str | None]) -> list[tuple[str, str]]:
    """The filters a list was read with, in words; those not set are left out."""
    return [(label, value) for label, value in pairs if value]


def _yes_no(flag: bool | None) -> str | None:
    """A yes/no filter in words (None: not set)."""
    return None if flag is None else _("仅逾期") if flag else _("未逾期")


# -- the case list (案件) -------------------------------------------------------------------


@bp.get("/cases/export.<any(csv, xlsx):fmt>")
def cases_export(fmt: str) -> Any:
    """The case list with the page's filters, every page, as CSV or XLSX."""
    rt = auth.runtime()
    asked = case_pages._asked(request.args)  # read as the page reads it
    with auth.reading() as (session, principal):
        access.check_may_export(principal)
        rows = case_views.case_list(
            session,
            principal=principal,
            filters=case_views.CaseFilters(
                process=asked.process, status=asked.status, overdue=asked.overdue, text=asked.text
            ),
            now=rt.clock.now(),
            limit=EXPORT_MAX + 1,
        )
    if len(rows) > EXPORT_MAX:
        return too_many(url_for("ui.cases", **asked.params(page=1)))
    headers = [
        _("案件编号"),
        _("种类"),
        _("当事人"),
        _("标题"),
        _("单位"),
        _("状态"),
        _("结果"),
        _("最近期限"),
        _("逾期"),
        _("立案日期"),
        _("立案人"),
        _("结案时间"),
    ]

    def line(c: case_views.CaseView) -> list[Any]:
        return [
            c.number,
            c.kind_name,
            c.subject_name,
            c.title,
            c.org_unit_name,
            c.status_name,
            c.outcome_name,
            deadline(c.next_due_at),
            _("逾期") if c.overdue else "",
            c.registered_on,
            c.opened_by_name,
            c.closed_at,
        ]

    used = used_filters(
        (_("种类"), cases.KIND_NAMES.get(asked.process or "", asked.process)),
        (_("状态"), case_views.STATUS_NAMES.get(asked.status or "", asked.status)),
        (_("逾期"), _yes_no(asked.overdue)),
        (_("关键词"), asked.text),
    )
    return table_file(
        fmt=fmt, name="cases", title=_("案件"), headers=headers, rows=map(line, rows), filters=used
    )

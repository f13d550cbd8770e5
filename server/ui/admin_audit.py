"""系统管理: the audit trail (审计日志), searched by case number, actor, action, object and
date a page at a time, and the check of its hash chain. Reads workflows/admin.py and workflows/audit.py
as the admin API does; the rows shown are the administrator's units' (admin.audit_scope).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server import auth
from server.ui.common import bp, redirect_with, safe_next
from server.ui.i18n import content
from workflows import access, audit_labels, paging
from workflows.engine import audit
from workflows.org import admin

PER_PAGE = 50
TEXT_FILTERS = ("case_number", "actor", "action", "object_type", "object_id")
#: audit.verify's reasons, for people.
REASONS = {
    "link to the previous row is broken": _l("与上一条记录的链接断开"),
    "row content does not match its hash": _l("记录内容与其哈希不符（被改动过）"),
    "rows after the last one were removed": _l("最后一条之后的记录被删除"),
}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _asked() -> tuple[dict[str, str], dict[str, str], admin.AuditFilters, int]:
    """The query string read leniently: texts trimmed, dates checked (named when wrong)."""
    args = request.args
    values = {
        name: (args.get(name) or "").strip()[:100] for name in (*TEXT_FILTERS, "since", "until")
    }
    errors: dict[str, str] = {}
    tz = auth.runtime().clock.tz
    moments: dict[str, datetime] = {}
    for name in ("since", "until"):
        if not values[name]:
            continue
        day = _day(values[name])
        if day is None or not 1970 <= day.year <= 2200:
            errors[name] = _("日期格式不对，应为 YYYY-MM-DD")
            continue
        # The until date is inclusive: rows before the next day's start.
        start = datetime.combine(day + timedelta(days=1 if name == "until" else 0), time(), tz)
        moments[name] = start
    if "since" in moments and "until" in moments and moments["until"] <= moments["since"]:
        errors["until"] = _("截止日期不能早于起始日期")
    page_text = args.get("page", "1")
    page = (
        min(int(page_text), 100_000)
        if page_text.isascii() and page_text.isdigit() and int(page_text) > 0
        else 1
    )
    filters = admin.AuditFilters(
        actor=values["actor"] or None,
        action=values["action"] or None,
        object_type=values["object_type"] or None,
        object_id=values["object_id"] or None,
        case_number=values["case_number"] or None,
        since=None if errors else moments.get("since"),
        until=None if errors else moments.get("until"),
    )
    return values, errors, filters, page


def _options(labels: dict[str, str]) -> list[tuple[str, str]]:
    """(code, name) choices in the page's language, in the order of their names."""
    return sorted(((code, str(content(name))) for code, name in labels.items()), key=_second)


def _second(item: tuple[str, str]) -> str:
    return item[1]


@bp.get("/admin/audit")
def admin_audit() -> Any:
    """The audit trail, newest first, with filters; nothing is searched while a date is wrong."""
    values, errors, filters, page = _asked()
    found: paging.Page[admin.AuditEntry] = paging.Page([], page, PER_PAGE, 0)
    with auth.reading() as (session, principal):
        access.check_may_administer(principal)
        if not errors:
            found = admin.audit_rows(
                session, principal=principal, filters=filters, page=page, per_page=PER_PAGE
            )
    kept: dict[str, Any] = {k: v for k, v in values.items() if v}
    link: Callable[..., str] = lambda page: url_for(
        "ui.admin_audit", **kept, page=page if page > 1 else None
    )
    return render_template(
        "admin/audit.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=found.pages,
        values=values,
        errors=errors,
        link=link,
        here_url=link(page),
        actions=_options(audit_labels.ACTION_LABELS),
        object_types=_options(audit_labels.OBJECT_LABELS),
    ), 422 if errors else 200


@bp.post("/admin/audit/verify")
def admin_audit_verify() -> Any:
    """Check the whole hash chain and say whether it is intact or where it breaks."""
    with auth.reading() as (session, principal):
        access.check_may_administer(principal)
        result = audit.verify(session)
    back = safe_next(request.form.get("next"), default=url_for("ui.admin_audit"))
    if result.ok:
        return redirect_with(
            back, _("审计链完整：已验证 %(n)d 条记录", n=result.checked), "success"
        )
    if result.broken_at is None:
        return redirect_with(
            back,
            _(
                "审计记录不完整：%(reason)s（已验证 %(n)d 条记录的链接）",
                reason=result.reason,
                n=result.checked,
            ),
            "error",
        )
    reason = REASONS.get(result.reason, result.reason)
    if result.reason.endswith(" is missing"):
        reason = _("记录缺失")
    return redirect_with(
        back,
        _(
            "审计链断裂：第 %(id)s 条记录：%(reason)s（此前 %(n)d 条完好）",
            id=result.broken_at,
            reason=reason,
            n=result.checked,
        ),
        "error",
    )

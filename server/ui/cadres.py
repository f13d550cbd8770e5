"""干部档案 (/cadres): the cadres in my jurisdiction, one cadre's record — promotion bans with
their end (§6), tolerance notes (§12), the cases about them that I see, and whether they may
be promoted on a given day. The blacklist's pages are server/ui/blacklist.py.

The data are the API's (workflows/cases/queries.py): a cadre sees only their own record.
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.api.common import page_of
from server.ui.case_pages import case_row
from server.ui.common import bp, redirect_with
from workflows.cadres.service import ADJUSTMENT_NAMES
from workflows.cases import blacklist_views, queries

PER_PAGE = 30
BAN_STATUS_NAMES = {"active": "有效", "revoked": "已撤销", "changed": "已变更"}


def _page_number(text: str | None) -> int:
    return min(int(text), 100_000) if text and text.isdigit() and int(text) > 0 else 1


def _query_text(text: str | None) -> str | None:
    return (text or "").strip()[:100] or None


@bp.get("/cadres")
def cadres() -> Any:
    """Cadres in my jurisdiction by name, searched by name or post; a cadre sees their record."""
    text, page = _query_text(request.args.get("q")), _page_number(request.args.get("page"))
    with auth.reading() as (session, principal):
        own = principal.cadre_id if principal.role == "cadre" else None
    if own is not None:
        return _record_page(own)
    with auth.reading() as (session, principal):
        rows, total = page_of(session, queries.cadre_rows(principal, text=text), page=page, per_page=PER_PAGE)
        items = [{"id": row.Cadre.id, "name": row.Cadre.name, "post": row.Cadre.post,
                  "org_unit_name": row.org_unit_name} for row in rows]
        blacklist = blacklist_views.may_read(principal)

    def link(**changes: Any) -> str:
        values = {"q": text, "page": page, **changes}
        return url_for("ui.cadres", **{k: v for k, v in values.items() if v not in (None, "", 1)})

    pages = max(1, math.ceil(total / PER_PAGE))
    if page > pages:
        return redirect_with(link(page=pages))
    return render_template("cadres.html", items=items, text=text, page=page, pages=pages, total=total,
                           link=link, blacklist=blacklist)


def _on(text: str | None, today: date) -> tuple[date, str | None]:
    """The day asked about, or today and a message when the text is not a date."""
    if not (text or "").strip():
        return today, None
    try:
        return date.fromisoformat((text or "").strip()), None
    except ValueError:
        return today, _("日期格式不对，应为 YYYY-MM-DD")


@bp.get("/cadres/<int:cadre_id>")
def cadre(cadre_id: int) -> Any:
    """One cadre's record: bans, tolerance notes, cases, and promotion eligibility on a day."""
    return _record_page(cadre_id)


def _record_page(cadre_id: int) -> Any:
    rt = auth.runtime()
    today = rt.clock.today()
    asked_text = (request.args.get("on") or "")[:20]
    on, on_error = _on(asked_text, today)
    with auth.reading() as (session, principal):
        record = queries.cadre_record(session, principal=principal, cadre_id=cadre_id, today=today,
                                      now=rt.clock.now())
        eligibility = queries.promotion_eligibility(session, principal=principal, cadre_id=cadre_id, on=on)
        bans = [{"adjustment_name": ADJUSTMENT_NAMES.get(b.ban.adjustment, b.ban.adjustment),
                 "starts_on": b.ban.starts_on, "ends_on": b.ban.ends_on, "status": b.ban.status,
                 "status_name": BAN_STATUS_NAMES.get(b.ban.status, b.ban.status), "in_force": b.in_force,
                 "case_id": b.ban.case_id, "case_number": b.case_number, "note": b.ban.note or ""}
                for b in record.bans]
        cases = [case_row(row.CaseFile, next_due_at=row.next_due_at, overdue=row.overdue)
                 for row in record.cases]
        back = principal.role != "cadre"
    return render_template("cadre.html", cadre=record.cadre, org_unit_name=record.org_unit_name, bans=bans,
                           notes=record.tolerance_notes, cases=cases, eligibility=eligibility,
                           asked_on=asked_text if on_error else on.isoformat(), on_error=on_error,
                           today=today, back=back, action=request.path), 422 if on_error else 200

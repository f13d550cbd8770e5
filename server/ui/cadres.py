"""干部档案 (/cadres): the cadres in my jurisdiction, one cadre's record — promotion bans with
their end (§6), tolerance notes (§12), the cases about them that I see, and whether they may
be promoted on a given day. The blacklist's pages are server/ui/blacklist.py.

The pages render the domain's views (workflows/cadres/views.py), the ones the API dumps: a
cadre sees only their own record.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.ui.common import bp, redirect_with
from workflows.cadres import views as cadre_views
from workflows.cases import blacklist_views

PER_PAGE = 30


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
        found = cadre_views.cadre_page(
            session, principal=principal, text=text, page=page, per_page=PER_PAGE
        )
        blacklist = blacklist_views.may_read(principal)

    def link(**changes: Any) -> str:
        values = {"q": text, "page": page, **changes}
        return url_for("ui.cadres", **{k: v for k, v in values.items() if v not in (None, "", 1)})

    if page > found.pages:
        return redirect_with(link(page=found.pages))
    return render_template(
        "cadres.html",
        items=found.items,
        text=text,
        page=page,
        pages=found.pages,
        total=found.total,
        link=link,
        blacklist=blacklist,
    )


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
        record = cadre_views.cadre_record(
            session, principal=principal, cadre_id=cadre_id, today=today, now=rt.clock.now()
        )
        eligibility = cadre_views.promotion_eligibility(
            session, principal=principal, cadre_id=cadre_id, on=on
        )
        back = principal.role != "cadre"
    return render_template(
        "cadre.html",
        cadre=record,
        eligibility=eligibility,
        asked_on=asked_text if on_error else on.isoformat(),
        on_error=on_error,
        today=today,
        back=back,
        action=request.path,
    ), 422 if on_error else 200

"""案件 (/cases): the list of cases I may see, one case's page — status, outcome, open tasks
with their deadlines and how each was computed, decisions, timeline, linked cases, urges
(催办) and the process diagram with what is done and what is current — and what may be filed
against a case: an appeal (申诉) within its window, an exemption application (免责申请)
while an accountability case is open.

The pages render the domain's views (workflows/cases/views.py), the ones the API dumps: a
case's buttons are its view's `actions`, computed by the rules that guard the writes. A
cadre lands on 我的案件 (my_cases.py) instead of the list, and their case page (my_case.html)
renders the view as workflows/cases/views.py cut it for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from flask import Response, make_response, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from server import auth
from server.errors import said
from server.ui import my_cases
from server.ui.case_new import button_label
from server.ui.common import bp, redirect_with
from server.ui.documents import card as documents_card
from server.ui.layout import ROLE_LABELS
from server.ui.official_documents import card as official_card
from workflows import access
from workflows.access import Principal
from workflows.cases import intake, tolerance
from workflows.cases import service as cases
from workflows.cases import views as case_views
from workflows.cases.models import CaseFile
from workflows.cases.views import CaseFilters, CaseSummaryView, RecommendationView
from workflows.errors import NotFound, ValidationFailed
from workflows.incidents import views as incident_views

PER_PAGE = 20
#: How many timeline entries the task page shows beside the form (the case page shows all).
SIDE_TIMELINE = 12


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """The list's query string, read leniently: a bad value means its default."""

    process: str | None = None
    status: str | None = None
    overdue: bool | None = None
    text: str | None = None
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        shown = replace(self, **changes)
        values = {
            "process": shown.process,
            "status": shown.status,
            "overdue": None if shown.overdue is None else int(shown.overdue),
            "q": shown.text,
            "page": None if shown.page == 1 else shown.page,
        }
        return {k: v for k, v in values.items() if v is not None}


def _asked(args: Mapping[str, str]) -> Asked:
    page = args.get("page", "1")
    return Asked(
        process=args.get("process") if args.get("process") in cases.PREFIXES else None,
        status=args.get("status") if args.get("status") in case_views.STATUS_NAMES else None,
        overdue={"1": True, "0": False}.get(args.get("overdue", "")),
        text=(args.get("q") or "").strip()[:100] or None,
        page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
    )


@bp.get("/cases", endpoint="cases")
def cases_list() -> Any:
    """Cases I may see, newest first, filtered by process, status, overdue and text; a cadre's
    own cases with the decisions about them."""
    rt = auth.runtime()
    asked = _asked(request.args)
    filters = CaseFilters(
        process=asked.process, status=asked.status, overdue=asked.overdue, text=asked.text
    )
    with auth.reading() as (session, principal):
        if my_cases.is_cadre(principal):
            return my_cases.to_my_cases()
        found = case_views.case_page(
            session,
            principal=principal,
            filters=filters,
            page=asked.page,
            per_page=PER_PAGE,
            now=rt.clock.now(),
        )
        new_case = button_label(principal)
    link: Callable[..., str] = lambda **changes: url_for("ui.cases", **asked.params(**changes))
    if asked.page > found.pages:
        return redirect_with(link(page=found.pages))
    return render_template(
        "cases.html",
        items=found.items,
        asked=asked,
        total=found.total,
        pages=found.pages,
        link=link,
        kinds=cases.KIND_NAMES,
        statuses=case_views.STATUS_NAMES,
        new_case=new_case,
    )


# --- one case ---------------------------------------------------------------------------------


@dataclass
class Filing:
    """What a form against the case (appeal, exemption) holds after a refused submission."""

    values: dict[str, str]
    errors: dict[str, list[str]]
    top: list[str]


def _filing(values: dict[str, str], err: ValidationFailed, known: tuple[str, ...]) -> Filing:
    errors: dict[str, list[str]] = {}
    top = []
    for item in err.errors or [{"field": "", "message": said(err.message)}]:
        if item["field"] in known:
            errors.setdefault(item["field"], []).append(said(item["message"]))
        else:
            top.append(said(item["message"]))
    return Filing(values, errors, top)


def _case_page(
    case_id: int,
    *,
    appeal: Filing | None = None,
    exemption: Filing | None = None,
    status: int = 200,
) -> Any:
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        today = rt.clock.today()
        detail = case_views.case_detail(
            session, principal=principal, case_id=case_id, clock=rt.clock
        )
        context = {
            "case": detail,
            "recommendation": detail.recommendation,
            "window": detail.appeal_window,
            "may_appeal": case_views.FILE_APPEAL in detail.actions,
            "may_exempt": case_views.APPLY_FOR_EXEMPTION in detail.actions,
            "today": today,
            "role": principal.role,
            "applicant_fixed": intake.EXEMPTION_FILERS.get(principal.role),
            "applicants": tolerance.APPLICANTS,
            "appeal": appeal,
            "exemption": exemption,
            "roles": ROLE_LABELS,
            "lane_names": {key: str(name) for key, name in ROLE_LABELS.items()},
            "attachments": documents_card(
                session, principal, access.get_case_to_read(session, principal, case_id)
            ),
            "official": official_card(
                session, principal, access.get_case_to_read(session, principal, case_id)
            ),
            "stuck": incident_views.stuck(
                session, principal=principal, instance_id=detail.instance_id
            ),
            "me": principal.username,
            "may_read_audit": access.may_administer(principal),
        }
        page = "my_case.html" if my_cases.is_cadre(principal) else "case.html"
    return render_template(page, **context), status


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> Any:
    """One case: status, outcome, open tasks with their deadlines and how each was computed,
    decisions, the process diagram, timeline, linked cases and urges; appeal or exemption
    application where I may file one."""
    return _case_page(case_id)


@bp.get("/cases/<int:case_id>/diagram.bpmn")
def case_diagram(case_id: int) -> Response:
    """The BPMN XML of the process version the case runs on (for the diagram on its page)."""
    with auth.reading() as (session, principal):
        found = case_views.case_diagram(session, principal=principal, case_id=case_id)
    if not found.bpmn_xml:
        raise NotFound(_("本案件没有流程图"))
    response = make_response(found.bpmn_xml)
    response.mimetype = "application/xml"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _filed_on(text: str, today: date) -> date:
    if not text.strip():
        return today
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(
            _("请填写有效的日期（年-月-日）"),
            [{"field": "filed_on", "message": _("请填写有效的日期（年-月-日）")}],
        ) from None


def _after_filing(case_id: int, new_id: int, message: str) -> Response:
    """To the new case if I see it, else back to this one."""
    with auth.reading() as (session, principal):
        seen = case_views.sees_case(session, principal=principal, case_id=new_id)
    return redirect_with(
        url_for("ui.case", case_id=new_id if seen else case_id), message, "success"
    )


@bp.post("/cases/<int:case_id>/appeal")
def case_appeal(case_id: int) -> Any:
    """申诉 against the case's decision within the window: by the cadre concerned (dated today),
    or registered by the managing unit's clerks (dated when the written appeal arrived)."""
    rt = auth.runtime()
    values = {
        "grounds": request.form.get("grounds", "")[:20_000],
        "filed_on": request.form.get("filed_on", "")[:20],
    }
    try:
        with auth.writing() as (session, principal):
            today = rt.clock.today()
            filed_on = today if principal.role == "cadre" else _filed_on(values["filed_on"], today)
            opened = intake.appeal_on_request(
                session,
                principal=principal,
                case_id=case_id,
                grounds=values["grounds"],
                filed_on=filed_on,
                clock=rt.clock,
            )
            new_id, number = opened.id, opened.number
    except ValidationFailed as err:
        return _case_page(case_id, appeal=_filing(values, err, ("grounds", "filed_on")), status=422)
    return _after_filing(case_id, new_id, _("已提出申诉：%(number)s", number=number))


@bp.post("/cases/<int:case_id>/exemption")
def case_exemption(case_id: int) -> Any:
    """免责申请 while the accountability case is open: by the unit or the cadre, or registered by
    the managing unit's clerks naming the applicant. Opens a linked tolerance review."""
    rt = auth.runtime()
    values = {key: request.form.get(key, "")[:20_000] for key in ("reasons", "facts", "applicant")}
    try:
        with auth.writing() as (session, principal):
            review = intake.exemption_on_request(
                session,
                principal=principal,
                case_id=case_id,
                reasons=values["reasons"],
                clock=rt.clock,
                applicant=values["applicant"] or None,
                facts=values["facts"].strip() or None,
            )
            new_id, number = review.id, review.number
    except ValidationFailed as err:
        return _case_page(
            case_id, exemption=_filing(values, err, ("reasons", "facts", "applicant")), status=422
        )
    return _after_filing(case_id, new_id, _("已提出免责申请：%(number)s", number=number))


# --- for the pages still to move to the views (the case export, the task page) -----------------


def case_row(
    case: CaseFile, *, next_due_at: datetime | None = None, overdue: bool = False
) -> dict[str, Any]:
    """A case as `CaseView` shows it, as a dict (with `kind`, the process key, as before)."""
    view = case_views.case_view(case, next_due_at=next_due_at, overdue=overdue)
    return {**vars(view), "kind": view.process}


def side_summary(
    session: Session, principal: Principal, case: CaseFile, *, now: datetime
) -> CaseSummaryView | None:
    """The case beside a task (`case_views.case_summary`): None if out of sight."""
    return case_views.case_summary(session, principal=principal, case=case, latest=SIDE_TIMELINE)


def recommendation(
    session: Session, principal: Principal, case: CaseFile
) -> RecommendationView | None:
    """The six-element analysis beside a task (`case_views.recommendation`)."""
    return case_views.recommendation(session, principal=principal, case=case)

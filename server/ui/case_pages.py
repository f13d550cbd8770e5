"""案件 (/cases): the list of cases I may see, one case's page — status, outcome, open tasks
with their deadlines and how each was computed, decisions, timeline, linked cases, urges
(催办) and the process diagram with what is done and what is current — and what may be filed
against a case: an appeal (申诉) within its window, an exemption application (免责申请)
while an accountability case is open.

The data are the API's (workflows/cases/queries.py, intake.py); a cadre sees only their
own cases and the decisions about them.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from flask import Response, make_response, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import auth
from server.api.common import page_of
from server.api.tasks import task_item
from server.ui.case_new import button_label
from server.ui.common import bp, redirect_with
from server.ui.documents import card as documents_card
from server.ui.layout import ROLE_LABELS
from workflows import access
from workflows.access import Principal
from workflows.cases import appeal as appeals
from workflows.cases import intake, queries, tolerance
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, Decision
from workflows.engine.models import HumanTask
from workflows.errors import NotFound, ValidationFailed
from workflows.incidents import views as incident_views
from workflows.org import service as org
from workflows.tasks import queues

PER_PAGE = 20
#: The kind of case whose outcome vocabulary names a decision of each kind.
DECISION_CASE_KINDS = {"accountability": "accountability", "tolerance": "tolerance_review",
                       "appeal": "appeal", "verification": "rectification"}
DECISION_KIND_NAMES = {"accountability": "问责决定", "tolerance": "容错认定", "appeal": "申诉复核",
                       "verification": "整改验收"}
EFFECTIVE_NAMES = {"effective": "有效", "modified": "已变更", "revoked": "已撤销"}
LINK_NAMES = {"appeal": "申诉", "tolerance": "容错免责", "rectification": "纠错整改",
              "clarification": "澄清正名", "accountability": "问责"}
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
        values = {"process": shown.process, "status": shown.status,
                  "overdue": None if shown.overdue is None else int(shown.overdue), "q": shown.text,
                  "page": None if shown.page == 1 else shown.page}
        return {k: v for k, v in values.items() if v is not None}


def _asked(args: Mapping[str, str]) -> Asked:
    page = args.get("page", "1")
    return Asked(process=args.get("process") if args.get("process") in cases.PREFIXES else None,
                 status=args.get("status") if args.get("status") in queries.STATUS_NAMES else None,
                 overdue={"1": True, "0": False}.get(args.get("overdue", "")),
                 text=(args.get("q") or "").strip()[:100] or None,
                 page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1)


def case_row(case: CaseFile, *, next_due_at: datetime | None = None, overdue: bool = False) -> dict[str, Any]:
    """A case as the pages show it in lists and summaries."""
    return {"id": case.id, "number": case.number, "kind": case.kind,
            "kind_name": cases.KIND_NAMES.get(case.kind, case.kind), "title": case.title,
            "subject_name": case.subject_name, "org_unit": case.org_unit_code, "status": case.status,
            "status_name": queries.STATUS_NAMES.get(case.status, case.status),
            "outcome_name": queries.outcome_name(case.kind, case.outcome), "opened_at": case.opened_at,
            "opened_by": case.opened_by, "closed_at": case.closed_at, "received_on": case.received_on,
            "next_due_at": next_due_at, "overdue": bool(overdue)}


def decision_row(decision: Decision, case: CaseFile | None = None) -> dict[str, Any]:
    kind = DECISION_CASE_KINDS.get(decision.kind, decision.kind)
    return {"id": decision.id, "kind_name": DECISION_KIND_NAMES.get(decision.kind, decision.kind),
            "outcome_name": queries.outcome_name(kind, decision.outcome),
            "adjustment_name": queries.outcome_name(kind, decision.adjustment) if decision.adjustment else None,
            "reason": decision.reason,
            "recommendation_name": tolerance.OUTCOME_NAMES.get(decision.recommendation or "",
                                                                decision.recommendation),
            "departure_reason": decision.departure_reason, "decided_on": decision.decided_on,
            "decided_by": decision.decided_by, "effective": decision.effective,
            "effective_name": EFFECTIVE_NAMES.get(decision.effective, decision.effective),
            "case": case_row(case) if case is not None else None}


def _own_decisions(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The decisions about a cadre user (their cases only), newest first."""
    rows = session.execute(
        select(Decision, CaseFile).join(CaseFile, CaseFile.id == Decision.case_id)
        .where(access.case_scope(principal)).order_by(Decision.decided_on.desc(), Decision.id.desc())
        .limit(100)).all()
    return [decision_row(decision, case) for decision, case in rows]


@bp.get("/cases", endpoint="cases")
def cases_list() -> Any:
    """Cases I may see, newest first, filtered by process, status, overdue and text; a cadre's
    own cases with the decisions about them."""
    rt = auth.runtime()
    asked = _asked(request.args)
    with auth.reading() as (session, principal):
        query = queries.case_rows(principal, queries.CaseFilters(
            process=asked.process, status=asked.status, overdue=asked.overdue, text=asked.text),
            now=rt.clock.now())
        rows, total = page_of(session, query, page=asked.page, per_page=PER_PAGE)
        items = [case_row(row.CaseFile, next_due_at=row.next_due_at, overdue=row.overdue) for row in rows]
        decisions = _own_decisions(session, principal) if principal.role == "cadre" else None
        new_case = button_label(principal.role)
    link: Callable[..., str] = lambda **changes: url_for("ui.cases", **asked.params(**changes))
    pages = max(1, math.ceil(total / PER_PAGE))
    if asked.page > pages:
        return redirect_with(link(page=pages))
    return render_template("cases.html", items=items, asked=asked, total=total, pages=pages, link=link,
                           kinds=cases.KIND_NAMES, statuses=queries.STATUS_NAMES, decisions=decisions,
                           new_case=new_case)


# --- one case ---------------------------------------------------------------------------------


def recommendation(session: Session, principal: Principal, case: CaseFile) -> dict[str, Any] | None:
    """The six-element analysis and the decision table's recommendation (§2.2.5) for a tolerance
    review, or for an accountability case from its linked review; None while there is none."""
    reviews = [case] if case.kind == "tolerance_review" else [
        link.case for link in queries.visible_links(session, principal, case) if link.case.kind == "tolerance_review"]
    for review in reversed(reviews):
        analysis = tolerance.latest_analysis(session, review.id)
        if analysis is None:
            continue
        elements, distinctions = json.loads(analysis.elements), json.loads(analysis.distinctions)
        return {
            "from_case": case_row(review) if review.id != case.id else None,
            "name": tolerance.OUTCOME_NAMES.get(analysis.recommendation, analysis.recommendation),
            "key": analysis.recommendation, "analysed_by": analysis.analysed_by, "recorded_at": analysis.recorded_at,
            "elements": [{"name": name, "favourable": elements.get(key, {}).get("pole") == "favourable",
                          "pole": good if elements.get(key, {}).get("pole") == "favourable" else bad,
                          "reason": elements.get(key, {}).get("reason", "")}
                         for key, name, good, bad in tolerance.ELEMENTS],
            "distinctions": [{"name": name, "answer": distinctions.get(key, {}).get("answer"),
                              "note": distinctions.get(key, {}).get("note", "")}
                             for key, name in tolerance.DISTINCTIONS],
        }
    return None


def side_summary(session: Session, principal: Principal, case: CaseFile, *, now: datetime) -> dict[str, Any] | None:
    """The case beside a task: summary, latest history, linked cases (None if out of sight)."""
    try:
        access.get_case(session, principal, case.id)
    except NotFound:
        return None
    timeline = queries.timeline(session, case)
    return {**case_row(case), "timeline": list(reversed(timeline))[:SIDE_TIMELINE], "more": len(timeline) > SIDE_TIMELINE,
            "links": [_link(link) for link in queries.visible_links(session, principal, case)]}


def _link(link: queries.LinkedCase) -> dict[str, Any]:
    return {"direction": link.direction, "kind_name": LINK_NAMES.get(link.kind, link.kind), **case_row(link.case)}


@dataclass
class Filing:
    """What a form against the case (appeal, exemption) holds after a refused submission."""

    values: dict[str, str]
    errors: dict[str, list[str]]
    top: list[str]


def _filing(values: dict[str, str], err: ValidationFailed, known: tuple[str, ...]) -> Filing:
    errors: dict[str, list[str]] = {}
    top = []
    for item in err.errors or [{"field": "", "message": err.message}]:
        if item["field"] in known:
            errors.setdefault(item["field"], []).append(item["message"])
        else:
            top.append(item["message"])
    return Filing(values, errors, top)


def _may_file(principal: Principal, case: CaseFile, filers: Mapping[str, Any]) -> bool:
    return principal.role in filers and (principal.role == "cadre" or principal.org_unit == case.org_unit_code)


def with_unit_names(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task items (`task_item`) with their unit's name beside its code, for pages."""
    names = org.unit_names(session, (item["org_unit"] for item in items))
    return [{**item, "org_unit_name": names.get(item["org_unit"] or "")} for item in items]


def _case_page(case_id: int, *, appeal: Filing | None = None, exemption: Filing | None = None,
               status: int = 200) -> Any:
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        now, today = rt.clock.now(), rt.clock.today()
        detail = queries.case_detail(session, principal=principal, case_id=case_id, now=now)
        case = detail.case
        soon = queues.due_soon_limit(session, rt.clock)
        due = [t.due_at for t in detail.tasks if t.due_at is not None]
        window = appeals.appeal_window(session, case) if _may_file(principal, case, intake.APPELLANTS) else None
        cadre = detail.cadre
        context = {
            "case": case_row(case, next_due_at=min(due) if due else None, overdue=detail.overdue),
            "cadre": {"name": cadre.name, "post": cadre.post} if cadre else None,
            "org_unit_name": detail.org_unit_name,
            "tasks": with_unit_names(session, [task_item(t, now=now, soon=soon) for t in detail.tasks]),
            "visible_tasks": set(session.execute(select(HumanTask.id).where(
                HumanTask.id.in_([t.id for t in detail.tasks]), access.task_scope(principal))).scalars())
            if detail.tasks else set(),
            "decisions": [decision_row(d) for d in detail.decisions],
            "timeline": detail.timeline, "links": [_link(link) for link in detail.links],
            "urges": detail.urges, "comments": detail.comments, "diagram": detail.diagram,
            "recommendation": recommendation(session, principal, case),
            "window": window, "today": today, "role": principal.role,
            "may_exempt": (case.kind == "accountability" and case.status == "open"
                           and _may_file(principal, case, intake.EXEMPTION_FILERS)),
            "applicant_fixed": intake.EXEMPTION_FILERS.get(principal.role),
            "applicants": tolerance.APPLICANTS,
            "appeal": appeal, "exemption": exemption, "roles": ROLE_LABELS,
            "attachments": documents_card(session, principal, case),
            "stuck": incident_views.stuck(session, principal=principal, instance_id=case.instance_id),
        }
    return render_template("case.html", **context), status


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
        found = queries.diagram(session, access.get_case(session, principal, case_id), with_xml=True)
    if found is None or not found.bpmn_xml:
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
        raise ValidationFailed("请填写有效的日期（年-月-日）",
                               [{"field": "filed_on", "message": "请填写有效的日期（年-月-日）"}]) from None


def _after_filing(case_id: int, new_id: int, message: str) -> Response:
    """To the new case if I see it, else back to this one."""
    try:
        with auth.reading() as (session, principal):
            access.get_case(session, principal, new_id)
        target = url_for("ui.case", case_id=new_id)
    except NotFound:
        target = url_for("ui.case", case_id=case_id)
    return redirect_with(target, message, "success")


@bp.post("/cases/<int:case_id>/appeal")
def case_appeal(case_id: int) -> Any:
    """申诉 against the case's decision within the window: by the cadre concerned (dated today),
    or registered by the managing unit's clerks (dated when the written appeal arrived)."""
    rt = auth.runtime()
    values = {"grounds": request.form.get("grounds", "")[:20_000], "filed_on": request.form.get("filed_on", "")[:20]}
    try:
        with auth.writing() as (session, principal):
            today = rt.clock.today()
            filed_on = today if principal.role == "cadre" else _filed_on(values["filed_on"], today)
            opened = intake.appeal_on_request(session, principal=principal, case_id=case_id,
                                              grounds=values["grounds"], filed_on=filed_on, clock=rt.clock)
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
                session, principal=principal, case_id=case_id, reasons=values["reasons"], clock=rt.clock,
                applicant=values["applicant"] or None, facts=values["facts"].strip() or None)
            new_id, number = review.id, review.number
    except ValidationFailed as err:
        return _case_page(case_id, exemption=_filing(values, err, ("reasons", "facts", "applicant")), status=422)
    return _after_filing(case_id, new_id, _("已提出免责申请：%(number)s", number=number))

"""The read side of cases (案件): the list a principal sees, one case with everything its page
shows, a case beside a task, and the recommendation of a tolerance review — typed, frozen
views with units named and the principal's allowed actions computed by the rules that guard
the writes (intake.py, documents/service.py). The API dumps these views, the pages render
them, the CLI prints them. Cadre records are workflows/cadres/views.py; the blacklist's
reads are blacklist_views.py; a cadre's own home (我的案件) is cadre_views.py.

A cadre (role `cadre`) gets the same views cut to what DOMAIN.md §6 lets them see
(`served.py`): their status in plain words, only decisions served on them, organs instead of
login names, and no internal steps, timeline, urges, diagram or analysis — here, where the
views are made, so neither a page nor the API can show more.

Nothing here changes data or restores a workflow: stored state is read as plain JSON
(`engine.view_state`). Every read is scoped by workflows/access.py; what a principal may
not see is left out (a linked case) or missing (NotFound).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from workflows import access, textsearch
from workflows.access import Principal
from workflows.audit_labels import action_label
from workflows.cadres import service as cadres
from workflows.cadres.models import Cadre
from workflows.cases import (
    accountability,
    appeal,
    clarification,
    intake,
    rectification,
    served,
    tolerance,
)
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, Decision
from workflows.documents import service as documents
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.form_messages import choices
from workflows.engine.models import AuditEvent, HumanTask, Instance, ProcessVersion
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t
from workflows.official import kinds as official_kinds
from workflows.org import people
from workflows.org import service as org
from workflows.paging import Page, paginate
from workflows.roles import ESCALATION_ROLE
from workflows.tasks import views as task_views
from workflows.tasks.models import TaskComment, TaskUrge
from workflows.tasks.views import TaskView

STATUS_NAMES = {
    "open": "办理中",
    "decided": "已作出决定",
    "final": "决定已生效",
    "closed": "已结案",
    "overdue": "已逾期",
    "verifying": "待验收",
}
#: Case outcomes in Chinese, per kind.
OUTCOME_NAMES: dict[str, dict[str, str]] = {
    "accountability": {
        **accountability.OUTCOMES,
        **cadres.ADJUSTMENT_NAMES,
        "revoked": "原决定已撤销",
    },
    "tolerance_review": {**tolerance.OUTCOME_NAMES, "revoked": "原认定已撤销"},
    "appeal": appeal.OUTCOMES,
    "rectification": rectification.RESULTS,
    "clarification": {
        "report_untrue": "反映不实",
        "clarified": "已澄清正名",
        **{
            value: clarification.FINDINGS[key]
            for key, value in clarification.OUTCOMES.items()
            if key != "untrue"
        },
    },
}
#: The kind of case whose outcome vocabulary names a decision of each kind.
DECISION_CASE_KINDS = {
    "accountability": "accountability",
    "tolerance": "tolerance_review",
    "appeal": "appeal",
    "verification": "rectification",
}
DECISION_KIND_NAMES = {
    "accountability": "问责决定",
    "tolerance": "容错认定",
    "appeal": "申诉复核",
    "verification": "整改验收",
    "finding": "核实结论",  # a clarification's verification: a finding, not a 整改验收
}
EFFECTIVE_NAMES = {
    "effective": "有效",
    "modified": "已变更",
    "revoked": "已撤销",
    "superseded": "已退回作废",
}
LINK_NAMES = {
    "appeal": "申诉",
    "tolerance": "容错免责",
    "rectification": "纠错整改",
    "clarification": "澄清正名",
    "accountability": "问责",
}
MESSAGE_LABELS = {tolerance.MESSAGE: "收到容错认定意见"}
#: The timeline's notes that are worded, by action (`TimelineEntry.note_pattern`); pages put
#: the pattern in their language and fill it with `note_args`.
NOTE_PATTERNS = {
    "task.return": "退回至「%(to)s」：%(reason)s",
    "instance.migrate": "第 %(from)s 版 → 第 %(to)s 版",
    "instance.migration_revert": "第 %(from)s 版 → 第 %(to)s 版",
    "blacklist.correct": "第 %(from)s 条 → 第 %(to)s 条",
    "consultation.ask": "征求 %(names)s 的意见：%(question)s",
    "consultation.answer": "%(name)s：%(opinion)s",
    "consultation.withdraw": "撤回时尚未回复：%(names)s",
    "all_answered": "撤回时尚未回复：无",  # a withdrawal when every opinion was in
    "task.copy": "抄送 %(name)s：%(note)s",
}

#: What a principal may do to a case, as its detail lists them (`CaseDetailView.actions`).
FILE_APPEAL = "file_appeal"  # 申诉: intake.appellant_refusal, within the appeal window
APPLY_FOR_EXEMPTION = "apply_for_exemption"  # 免责申请: intake.may_apply_for_exemption
ADD_DOCUMENT = "add_document"  # 添加材料: documents.may_add (withdrawing is per document)
ACTIONS = (FILE_APPEAL, APPLY_FOR_EXEMPTION, ADD_DOCUMENT)


def outcome_name(kind: str, outcome: str | None) -> str | None:
    """The outcome of a case of `kind` in Chinese (the key itself when unnamed)."""
    return None if outcome is None else OUTCOME_NAMES.get(kind, {}).get(outcome, outcome)


# --- one case as lists show it -------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    """A case as lists and summaries show it, its kind, status, outcome and unit named."""

    id: int
    number: str
    process: str  # the case's kind: its process key
    kind_name: str
    title: str
    subject_name: str  # the cadre, or an accuser pursued by a clarification
    cadre_id: int | None
    org_unit: str
    org_unit_name: str
    status: str
    status_name: str
    outcome: str | None
    outcome_name: str | None
    source: str | None
    registered_on: date  # 立案日期: what pages and exports show as 立案
    opened_at: datetime  # 登记时间: the moment the case was entered
    opened_by: str
    opened_by_name: str  # 姓名（单位·岗位）
    closed_at: datetime | None
    received_on: date | None  # the decision's receipt (送达)
    next_due_at: datetime | None  # the earliest deadline of its open tasks
    overdue: bool


def case_view(
    case: CaseFile,
    *,
    org_unit_name: str | None = None,
    next_due_at: datetime | None = None,
    overdue: bool = False,
    opened_by_name: str | None = None,
) -> CaseView:
    """`case` as lists show it (its unit's code standing in for a name not given, the opener's
    username for a label not given)."""
    return CaseView(
        id=case.id,
        number=case.number,
        process=case.kind,
        kind_name=cases.KIND_NAMES.get(case.kind, case.kind),
        title=case.title,
        subject_name=case.subject_name,
        cadre_id=case.cadre_id,
        org_unit=case.org_unit_code,
        org_unit_name=org_unit_name or case.org_unit_code,
        status=case.status,
        status_name=STATUS_NAMES.get(case.status, case.status),
        outcome=case.outcome,
        outcome_name=outcome_name(case.kind, case.outcome),
        source=case.source,
        registered_on=case.registered_on,
        opened_at=case.opened_at,
        opened_by=case.opened_by,
        opened_by_name=opened_by_name or people.fallback(case.opened_by),
        closed_at=case.closed_at,
        received_on=case.received_on,
        next_due_at=next_due_at,
        overdue=bool(overdue),
    )


def case_views(session: Session, found: Iterable[CaseFile]) -> list[CaseView]:
    """Cases already read as lists show them, their units named with one query."""
    listed = list(found)
    names = org.unit_names(session, (case.org_unit_code for case in listed))
    openers = people.labels(session, (case.opened_by for case in listed))
    return [
        case_view(
            case,
            org_unit_name=names.get(case.org_unit_code),
            opened_by_name=openers[case.opened_by],
        )
        for case in listed
    ]


# --- lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    process: str | None = None
    status: str | None = None
    org_unit: str | None = None
    cadre_id: int | None = None
    overdue: bool | None = None
    text: str | None = None


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Overdue cases: an open task past its due time, a deadline that escalated to the
    supervisor (an open 督办 task: ESCALATION_ROLE), or a process that marked the case overdue."""
    late = exists().where(
        HumanTask.instance_id == CaseFile.instance_id,
        HumanTask.state == "open",
        or_(HumanTask.due_at < now, HumanTask.role == ESCALATION_ROLE),
    )
    return or_(CaseFile.status == "overdue", late)


def case_rows(principal: Principal, filters: CaseFilters, *, now: datetime) -> Select[Any]:
    """The query behind the lists: cases the principal sees, newest first, with their next due
    time and overdue mark."""
    next_due = (
        select(func.min(HumanTask.due_at))
        .where(HumanTask.instance_id == CaseFile.instance_id, HumanTask.state == "open")
        .scalar_subquery()
    )
    late = overdue_clause(now)
    if principal.role == "cadre":
        _no_internal_filters(filters)
    query = cast(
        Select[Any],
        select(CaseFile, next_due.label("next_due_at"), late.label("overdue")).where(
            access.case_scope(principal)
        ),
    )
    if filters.process:
        query = query.where(CaseFile.kind == filters.process)
    if filters.status:
        query = query.where(CaseFile.status == filters.status)
    if filters.org_unit:
        query = query.where(CaseFile.org_unit_code == filters.org_unit)
    if filters.cadre_id is not None:
        query = query.where(CaseFile.cadre_id == filters.cadre_id)
    if filters.overdue is True:
        query = query.where(late)
    elif filters.overdue is False:
        query = query.where(not_(late))
    found = textsearch.matching(
        filters.text, CaseFile.number, CaseFile.subject_name, CaseFile.title
    )
    if found is not None:
        query = query.where(found)
    return query.order_by(CaseFile.opened_at.desc(), CaseFile.id.desc())


def _no_internal_filters(filters: CaseFilters) -> None:
    """A cadre filters by kind and text only: the internal status (a decision not yet served)
    and the officials' deadlines are not theirs to search by (DOMAIN.md §6)."""
    refused = [
        {"field": field, "message": t("干部本人不能按此条件筛选：请按案件种类或关键词查找")}
        for field, value in (("status", filters.status), ("overdue", filters.overdue))
        if value is not None
    ]
    if refused:
        raise ValidationFailed(t("干部本人不能按办理状态或期限筛选案件"), refused)


def _listed(session: Session, principal: Principal, rows: Sequence[Row[Any]]) -> list[CaseView]:
    names = org.unit_names(session, (row.CaseFile.org_unit_code for row in rows))
    openers = people.labels(session, (row.CaseFile.opened_by for row in rows))
    return for_cadre(
        session,
        principal,
        [
            (
                row.CaseFile,
                case_view(
                    row.CaseFile,
                    org_unit_name=names.get(row.CaseFile.org_unit_code),
                    next_due_at=row.next_due_at,
                    overdue=bool(row.overdue),
                    opened_by_name=openers[row.CaseFile.opened_by],
                ),
            )
            for row in rows
        ],
    )


def case_page(
    session: Session,
    *,
    principal: Principal,
    filters: CaseFilters,
    page: int,
    per_page: int,
    now: datetime,
) -> Page[CaseView]:
    """Page `page` of the cases the principal sees (`case_rows`), with how many match."""
    found = paginate(
        session,
        case_rows(principal, filters, now=now),
        page=page,
        per_page=per_page,
        key=CaseFile.id,
    )
    return Page(_listed(session, principal, found.items), found.page, found.per_page, found.total)


def case_list(
    session: Session, *, principal: Principal, filters: CaseFilters, now: datetime, limit: int
) -> list[CaseView]:
    """The first `limit` cases the principal sees (`case_rows`), for exports and records."""
    rows = session.execute(case_rows(principal, filters, now=now).limit(limit)).all()
    return _listed(session, principal, rows)


def visible_case_id(session: Session, *, principal: Principal, number: str) -> int | None:
    """The id of the case numbered `number` (any letter case) if the principal sees it."""
    found = session.execute(
        select(CaseFile.id).where(CaseFile.number == number.upper(), access.case_scope(principal))
    ).scalar_one_or_none()
    return None if found is None else int(found)


def sees_case(session: Session, *, principal: Principal, case_id: int) -> bool:
    """Whether the principal sees case `case_id` (after opening one for another unit, say)."""
    try:
        access.get_case(session, principal, case_id)
    except NotFound:
        return False
    return True


# --- decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionView:
    """A decision with its outcome, adjustment, recommendation and standing named."""

    id: int
    kind: str  # accountability, tolerance, appeal, verification
    kind_name: str
    outcome: str
    outcome_name: str | None
    adjustment: str | None
    adjustment_name: str | None
    reason: str
    recommendation: str | None
    recommendation_name: str | None
    departure_reason: str | None
    decided_on: date
    decided_by: str
    decided_by_name: str  # 姓名（单位·岗位）
    corrects_id: int | None
    effective: str  # effective, modified, revoked
    effective_name: str
    case: CaseView | None = None  # the case decided, where a list of decisions shows it
    served_on: date | None = None  # the day the cadre received it (送达), once served


def decision_view(
    decision: Decision,
    case: CaseView | None = None,
    *,
    names: Mapping[str, str] | None = None,
    served_on: date | None = None,
    case_kind: str | None = None,
) -> DecisionView:
    """A decision as people read it; `names`: labels of its decider (`people.labels`);
    `case_kind`: the kind of the case decided, when `case` is not given."""
    kind = DECISION_CASE_KINDS.get(decision.kind, decision.kind)
    kind_name = DECISION_KIND_NAMES.get(decision.kind, decision.kind)
    found = outcome_name(kind, decision.outcome)
    if (case_kind or (case.process if case else None)) == "clarification":
        # A clarification's verification is a finding (核实结论), not a 整改验收.
        kind_name = DECISION_KIND_NAMES["finding"]
        found = clarification.FINDINGS.get(decision.outcome, decision.outcome)
    return DecisionView(
        id=decision.id,
        kind=decision.kind,
        kind_name=kind_name,
        outcome=decision.outcome,
        outcome_name=found,
        adjustment=decision.adjustment,
        adjustment_name=outcome_name(kind, decision.adjustment) if decision.adjustment else None,
        reason=decision.reason,
        recommendation=decision.recommendation,
        recommendation_name=tolerance.OUTCOME_NAMES.get(
            decision.recommendation or "", decision.recommendation
        ),
        departure_reason=decision.departure_reason,
        decided_on=decision.decided_on,
        decided_by=decision.decided_by,
        decided_by_name=(names or {}).get(decision.decided_by)
        or people.fallback(decision.decided_by),
        corrects_id=decision.corrects_id,
        effective=decision.effective,
        effective_name=EFFECTIVE_NAMES.get(decision.effective, decision.effective),
        case=case,
        served_on=served_on,
    )


def served_decision_views(
    session: Session, standing: served.Standing, case: CaseFile, view: CaseView | None = None
) -> list[DecisionView]:
    """The decisions served on a case's cadre as they read them: as served (a change by an
    appeal not yet served is not shown), decided by an organ, without the internal analysis."""
    organs = served.organ_names(
        session, (d.decided_by for d in standing.served), fallback_unit=case.org_unit_code
    )
    shown = []
    for decision in standing.served:
        effective = standing.effective[decision.id]
        named = decision_view(
            decision, view, served_on=standing.served_on.get(decision.id), case_kind=case.kind
        )
        shown.append(
            replace(
                named,
                decided_by=organs[decision.decided_by],
                decided_by_name=organs[decision.decided_by],  # an organ, never a person
                recommendation=None,
                recommendation_name=None,
                departure_reason=None,
                effective=effective,
                effective_name=EFFECTIVE_NAMES.get(effective, effective),
            )
        )
    return shown


def for_cadre(
    session: Session, principal: Principal, pairs: Sequence[tuple[CaseFile, CaseView]]
) -> list[CaseView]:
    """The views as `principal` may read them: unchanged for officials; for a cadre, the
    status and outcome as served, the opener as an organ, no internal deadlines."""
    if principal.role != "cadre":
        return [view for _, view in pairs]
    found = served.standings(session, (case for case, _ in pairs))
    organs = served.organ_names(
        session,
        (case.opened_by for case, _ in pairs if case.opened_by != principal.username),
        fallback_unit=principal.org_unit,
    )
    return [
        replace(
            view,
            status=found[case.id].status,
            status_name=found[case.id].status_name,
            outcome=found[case.id].outcome,
            outcome_name=outcome_name(case.kind, found[case.id].outcome),
            opened_by=organs.get(case.opened_by, case.opened_by),
            next_due_at=None,
            overdue=False,
        )
        for case, view in pairs
    ]


def own_decisions(
    session: Session, *, principal: Principal, limit: int = 100
) -> list[DecisionView]:
    """The decisions about the cases the principal sees, newest first; for a cadre, those
    served on them (`served.py`)."""
    if principal.role == "cadre":
        return _served_on_cadre(session, principal=principal, limit=limit)
    rows = session.execute(
        select(Decision, CaseFile)
        .join(CaseFile, CaseFile.id == Decision.case_id)
        .where(access.case_scope(principal))
        .order_by(Decision.decided_on.desc(), Decision.id.desc())
        .limit(limit)
    ).all()
    shown = case_views(session, (case for _, case in rows))
    names = people.labels(session, (decision.decided_by for decision, _ in rows))
    return [
        decision_view(decision, view, names=names)
        for (decision, _), view in zip(rows, shown, strict=True)
    ]


def _served_on_cadre(session: Session, *, principal: Principal, limit: int) -> list[DecisionView]:
    found = list(
        session.execute(
            select(CaseFile).where(access.case_scope(principal)).order_by(CaseFile.id)
        ).scalars()
    )
    views = dict(zip((c.id for c in found), case_views_for(session, principal, found), strict=True))
    standings = served.standings(session, found)
    shown = [
        decision
        for case in found
        for decision in served_decision_views(session, standings[case.id], case, views[case.id])
    ]
    shown.sort(key=lambda d: (d.served_on or d.decided_on, d.id), reverse=True)
    return shown[:limit]


def case_views_for(
    session: Session, principal: Principal, found: Iterable[CaseFile]
) -> list[CaseView]:
    """`case_views` as the principal may read them (`for_cadre`)."""
    listed = list(found)
    return for_cadre(
        session, principal, list(zip(listed, case_views(session, listed), strict=True))
    )


# --- one case ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    actor_name: str  # 姓名（单位·岗位）, or the system's own label
    role: str | None
    action: str
    label: str  # action_name, and the step's name after a ：
    action_name: str = ""
    task_id: int | None = None
    task_name: str | None = None
    element: str | None = None
    note: str | None = None
    opinion: Opinion | None = None  # a completed step's decision, its parts (the note) apart
    note_pattern: str | None = None  # a value of NOTE_PATTERNS when the note is worded
    note_args: Mapping[str, str] = dataclasses.field(default_factory=dict)
    document: DocumentNote | None = None  # an official document's event: the note's parts


@dataclass(frozen=True)
class DocumentNote:
    """The official document an event is about: its kind's title (a label), its 文号 (data) and
    version; `said` is the timeline's note as written (问责决定书肥东县纪问〔2026〕1号（第 1 版）)."""

    title: str
    number: str
    version: int | None

    @property
    def said(self) -> str:
        version = f"（第 {self.version} 版）" if self.version else ""
        return f"{self.title}{self.number}{version}"


@dataclass(frozen=True)
class Opinion:
    """What a completed step decided, in the words of its form: the labels of its choices and
    its first opinion text under its field's title — each a text of the form, which a page
    shows in its own language; `said` is all of it as written (「不予问责；理由：…」)."""

    chosen: tuple[str, ...]
    title: str
    text: str

    @property
    def said(self) -> str:
        text = f"{self.title}：{self.text}" if self.title and self.text else self.text
        return "；".join([*self.chosen, *([text] if text else [])])


@dataclass(frozen=True)
class LinkView:
    """A linked case: which way the link runs, its kind named, and the other case."""

    direction: str  # "to": this case gave rise to the other; "from": the other to this one
    kind: str  # the link's kind
    kind_name: str  # the link's kind named (申诉, 容错免责, …)
    id: int  # the other case
    number: str
    process: str
    process_name: str
    title: str
    status: str
    status_name: str


@dataclass(frozen=True)
class Urge:
    id: int
    task_id: int
    task_name: str
    urged_by: str
    urged_by_name: str  # 姓名（单位·岗位）
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Diagram:
    process_key: str
    version: int
    completed: tuple[str, ...]
    active: tuple[str, ...]
    bpmn_xml: str | None = None


@dataclass(frozen=True)
class CadreBrief:
    id: int
    name: str
    post: str
    org_unit: str


@dataclass(frozen=True)
class CaseDetailView(CaseView):
    """One case with everything its page shows, and what the principal may do to it."""

    instance_id: int | None  # the process instance the case runs as
    cadre: CadreBrief | None
    tasks: tuple[TaskView, ...]  # open, earliest deadline first
    visible_task_ids: frozenset[int]  # the open tasks whose page the principal may open
    decisions: tuple[DecisionView, ...]
    timeline: tuple[TimelineEntry, ...]
    links: tuple[LinkView, ...]  # those the principal sees
    urges: tuple[Urge, ...]
    comments_count: int
    diagram: Diagram | None
    recommendation: RecommendationView | None  # the six-element analysis, where there is one
    appeal_window: appeal.AppealWindow | None  # when the principal is one who may appeal
    actions: tuple[str, ...]  # of ACTIONS, what the principal may do now


def case_detail(
    session: Session, *, principal: Principal, case_id: int, clock: Clock
) -> CaseDetailView:
    """The case if visible to `principal` (NotFound otherwise) with everything its page shows;
    also a case they read only because they were asked for an opinion on it or copied
    (`access.get_case_to_read`)."""
    case = access.get_case_to_read(session, principal, case_id)
    iid = case.instance_id
    now, today = clock.now(), clock.today()
    overdue = bool(
        session.execute(
            select(overdue_clause(now)).select_from(CaseFile).where(CaseFile.id == case.id)
        ).scalar()
    )
    task_ids = (
        session.execute(
            select(HumanTask.id)
            .where(HumanTask.instance_id == iid, HumanTask.state == "open")
            .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id)
        ).scalars()
        if iid
        else ()
    )
    tasks = tuple(task_views.task_views(session, principal, list(task_ids), clock=clock))
    decisions = (
        session.execute(select(Decision).where(Decision.case_id == case.id).order_by(Decision.id))
        .scalars()
        .all()
    )
    comments = (
        int(
            session.execute(
                select(func.count()).select_from(TaskComment).where(TaskComment.instance_id == iid)
            ).scalar_one()
        )
        if iid
        else 0
    )
    cadre = session.get(Cadre, case.cadre_id) if case.cadre_id is not None else None
    window = (
        appeal.appeal_window(session, case)
        if intake.appellant_refusal(principal, case) is None
        else None
    )
    allowed = {
        FILE_APPEAL: window is not None and window.filed_as is None and today <= window.ends_on,
        APPLY_FOR_EXEMPTION: intake.may_apply_for_exemption(principal, case),
        ADD_DOCUMENT: documents.may_add(session, principal, case),
    }
    due = [t.due_at for t in tasks if t.due_at is not None]
    history = timeline(session, case)
    found_urges = urges(session, case)
    names = people.labels(
        session,
        [
            case.opened_by,
            *(d.decided_by for d in decisions),
        ],
    )
    summary = case_view(
        case,
        org_unit_name=org.unit_names(session, [case.org_unit_code]).get(case.org_unit_code),
        next_due_at=min(due) if due else None,
        overdue=overdue,
        opened_by_name=names[case.opened_by],
    )
    links = tuple(visible_links(session, principal, case))
    if principal.role == "cadre":
        return _cadre_detail(
            session,
            principal,
            case,
            summary,
            tasks=tasks,
            links=links,
            window=window,
            actions=tuple(action for action in ACTIONS if allowed[action]),
        )
    standing = served.standing(session, case)
    return CaseDetailView(
        **vars(summary),
        instance_id=iid,
        cadre=CadreBrief(cadre.id, cadre.name, cadre.post, cadre.org_unit_code) if cadre else None,
        tasks=tasks,
        visible_task_ids=frozenset(
            t.id
            for t in tasks
            if access.task_visible(
                principal, role=t.role, org_unit=t.org_unit, case_cadre_id=case.cadre_id
            )
        ),
        decisions=tuple(
            decision_view(
                d, names=names, served_on=standing.served_on.get(d.id), case_kind=case.kind
            )
            for d in decisions
        ),
        timeline=tuple(history),
        links=links,
        urges=tuple(found_urges),
        comments_count=comments,
        diagram=diagram(session, case),
        recommendation=_recommendation(session, case, links),
        appeal_window=window,
        actions=tuple(action for action in ACTIONS if allowed[action]),
    )


def _cadre_detail(
    session: Session,
    principal: Principal,
    case: CaseFile,
    summary: CaseView,
    *,
    tasks: tuple[TaskView, ...],
    links: tuple[LinkView, ...],
    window: appeal.AppealWindow | None,
    actions: tuple[str, ...],
) -> CaseDetailView:
    """The case as its cadre may see it (DOMAIN.md §6): the steps they owe themself, the
    decisions served on them, no timeline, urges, diagram or analysis, organs not people."""
    [shown] = for_cadre(session, principal, [(case, summary)])
    own = tuple(
        t
        for t in tasks
        if access.task_visible(
            principal, role=t.role, org_unit=t.org_unit, case_cadre_id=case.cadre_id
        )
    )
    cadre = session.get(Cadre, case.cadre_id) if case.cadre_id is not None else None
    return CaseDetailView(
        **vars(shown),
        instance_id=None,
        cadre=CadreBrief(cadre.id, cadre.name, cadre.post, cadre.org_unit_code) if cadre else None,
        tasks=own,
        visible_task_ids=frozenset(t.id for t in own),
        decisions=tuple(served_decision_views(session, served.standing(session, case), case)),
        timeline=(),
        links=links,
        urges=(),
        comments_count=0,
        diagram=None,
        recommendation=None,
        appeal_window=window,
        actions=actions,
    )


@dataclass(frozen=True)
class OpenedCaseView(CaseView):
    """A case just opened (or filed against another) with its first tasks the principal sees."""

    tasks: tuple[TaskView, ...]


def opened_case(
    session: Session, *, principal: Principal, case: CaseFile, clock: Clock
) -> OpenedCaseView:
    """The case just opened by the principal, with its open tasks whose queue they see."""
    task_ids = session.execute(
        select(HumanTask.id)
        .where(
            HumanTask.instance_id == case.instance_id,
            HumanTask.state == "open",
            access.task_scope(principal),
        )
        .order_by(HumanTask.id)
    ).scalars()
    tasks = tuple(task_views.task_views(session, principal, list(task_ids), clock=clock))
    due = [t.due_at for t in tasks if t.due_at is not None]
    [shown] = case_views_for(session, principal, [case])
    return OpenedCaseView(**{**vars(shown), "next_due_at": min(due) if due else None}, tasks=tasks)


@dataclass(frozen=True)
class CaseSummaryView(CaseView):
    """A case beside one of its tasks: its latest history, and the linked cases the principal
    sees."""

    timeline: tuple[TimelineEntry, ...]  # newest first
    more: bool  # the timeline has older entries than shown
    links: tuple[LinkView, ...]


def case_summary(
    session: Session, *, principal: Principal, case: CaseFile, latest: int
) -> CaseSummaryView | None:
    """`case` beside a task with its `latest` timeline entries, or None when the principal does
    not see the case itself."""
    if not sees_case(session, principal=principal, case_id=case.id):
        return None
    history = timeline(session, case) if principal.role != "cadre" else []
    [shown] = case_views_for(session, principal, [case])
    return CaseSummaryView(
        **vars(shown),
        timeline=tuple(reversed(history))[:latest],
        more=len(history) > latest,
        links=tuple(visible_links(session, principal, case)),
    )


def timeline(session: Session, case: CaseFile) -> list[TimelineEntry]:
    """What happened to the case, oldest first, from the audit trail: its instance's steps and
    the case-level rows (recorded with the instance). Of the form data, only a completed step's
    opinion is shown (`opinion`)."""
    if case.instance_id is None:
        return []
    rows = (
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.instance_id == case.instance_id)
            .order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    task_ids = {
        int(row.object_id) for row in rows if row.object_type == "task" and row.object_id.isdigit()
    }
    steps = (
        {
            task_id: (name, form)
            for task_id, name, form in session.execute(
                select(HumanTask.id, HumanTask.name, HumanTask.form).where(
                    HumanTask.id.in_(task_ids)
                )
            )
        }
        if task_ids
        else {}
    )
    names = {task_id: name for task_id, (name, _form) in steps.items()}
    schemas = _step_forms(session, case.instance_id, steps)
    actors = people.labels(session, [*(row.actor for row in rows), *_not_answered(rows)])
    return [_entry(row, names, actors, schemas) for row in rows]


def _not_answered(rows: Sequence[AuditEvent]) -> list[str]:
    """The usernames a withdrawn request for opinions was still waiting for, to be named."""
    found: list[str] = []
    for row in rows:
        if row.action == "consultation.withdraw":
            try:
                detail = json.loads(row.detail or "{}")
            except ValueError:
                continue
            missing = detail.get("missing") if isinstance(detail, dict) else None
            if isinstance(missing, list):
                found += [str(name) for name in missing]
    return found


def _step_forms(
    session: Session, instance_id: int, steps: Mapping[int, tuple[str, str | None]]
) -> dict[int, Mapping[str, Any]]:
    """The form schema of each step that has one, as pinned in the instance's version."""
    pinned = session.execute(
        select(ProcessVersion.forms_json)
        .join(Instance, Instance.process_version_id == ProcessVersion.id)
        .where(Instance.id == instance_id)
    ).scalar_one_or_none()
    found: dict[str, Any] = json.loads(pinned or "{}")
    return {
        task_id: found[form]
        for task_id, (_name, form) in steps.items()
        if form and isinstance(found.get(form), dict)
    }


#: Free-text fields whose value is the step's opinion (审批意见), by the end of their key.
_OPINION_KEYS = ("reason", "opinion", "findings", "note", "summary", "conclusion")
_OPINION_CHARS = 200


def opinion(data: Any, schema: Mapping[str, Any]) -> Opinion | None:
    """What a completed step decided, for the 审批记录: the labels of its choices (a
    six-element pole excepted) and its first opinion text, e.g. 「不予问责；理由：…」."""
    if not isinstance(data, dict):
        return None
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    chosen: list[str] = []
    text: str | None = None
    title = ""
    for key, field in properties.items():
        value = data.get(key)
        labels = dict((choices(field) if isinstance(field, dict) else None) or [])
        if labels and value in labels and set(labels) != {"favourable", "unfavourable"}:
            chosen.append(labels[value])
        elif (
            text is None
            and not labels
            and isinstance(value, str)
            and value.strip()
            and key.endswith(_OPINION_KEYS)
        ):
            title = str(field.get("title") or "") if isinstance(field, dict) else ""
            text = value.strip()
    room = _OPINION_CHARS - (len(title) + 1 if title else 0)
    if text and len(text) > room:
        text = text[: room - 1] + "…"
    if not chosen and not text:
        return None
    return Opinion(chosen=tuple(chosen), title=title if text else "", text=text or "")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _entry(
    row: AuditEvent,
    task_names: dict[int, str],
    actors: Mapping[str, str],
    schemas: Mapping[int, Mapping[str, Any]],
) -> TimelineEntry:
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    by = detail.get("by") if isinstance(detail.get("by"), dict) else {}
    label = action_label(row.action)
    task_id = int(row.object_id) if row.object_type == "task" and row.object_id.isdigit() else None
    element = note = decided = pattern = document = None
    args: dict[str, str] = {}
    if row.object_type == "task":
        element = _text(detail.get("task"))
        if row.action == "task.complete" and task_id is not None and task_id in schemas:
            decided = opinion(detail.get("data"), schemas[task_id])
            note = decided.said if decided is not None else None
        elif row.action == "task.return":
            pattern = NOTE_PATTERNS[row.action]
            args = {"to": str(detail.get("to_name")), "reason": str(detail.get("reason", ""))}
        elif row.action == "task.withdraw":
            note = str(detail.get("reason", ""))
    elif row.action == "timer.fire":
        fired = [t.get("element") for t in detail.get("timers", []) if isinstance(t, dict)]
        element = fired[0] if fired else None
    elif row.action == "timer.error":
        element = _text(detail.get("element"))
    elif row.action == "message.deliver":
        label = MESSAGE_LABELS.get(str(detail.get("message")), label)
        note = detail.get("case_number")
    elif row.action in ("instance.migrate", "instance.migration_revert"):
        pattern = NOTE_PATTERNS[row.action]
        args = {"from": str(detail.get("from_version")), "to": str(detail.get("to_version"))}
    elif row.action.startswith("case."):
        note = detail.get("case_number") or detail.get("number")
    elif row.action.startswith("document."):
        note = detail.get("filename")
    elif row.action.startswith("official_document."):
        kind = official_kinds.KINDS.get(str(detail.get("kind")))
        version = detail.get("version")
        document = DocumentNote(
            title=kind.title if kind else "",
            number=str(detail.get("number") or ""),
            version=version if isinstance(version, int) and version > 0 else None,
        )
        note = document.said or None
    elif row.action == "blacklist.correct":
        pattern = NOTE_PATTERNS[row.action]
        args = {"from": str(detail.get("corrects_entry_id")), "to": str(detail.get("entry_id"))}
    elif row.action.startswith("consultation.") or row.action == "task.copy":
        task_id, pattern, args = _working_together(row.action, detail, actors)
        task_names = {task_id: str(detail.get("step_name"))} if task_id is not None else {}
    task_name = task_names.get(task_id) if task_id is not None else None
    if pattern is not None:
        note = pattern % args
    return TimelineEntry(
        at=row.at,
        actor=row.actor,
        actor_name=actors[row.actor],
        role=(by or {}).get("role"),
        action=row.action,
        label=f"{label}：{task_name}" if task_name else label,
        action_name=label,
        task_id=task_id,
        task_name=task_name,
        element=element,
        note=note,
        opinion=decided,
        note_pattern=pattern,
        note_args=args,
        document=document,
    )


def _working_together(
    action: str, detail: dict[str, Any], people_named: Mapping[str, str]
) -> tuple[int | None, str | None, dict[str, str]]:
    """The step, and the note's pattern and values, of a 加签 or 抄送 entry: who was asked and
    what, whose opinion and what it says, who was copied with which note."""
    task_id = detail.get("task_id") if isinstance(detail.get("task_id"), int) else None
    names = "、".join(str(n) for n in detail.get("names") or [])
    missing = "、".join(people_named.get(str(n), str(n)) for n in detail.get("missing") or [])
    if action == "consultation.withdraw" and not missing:
        return task_id, NOTE_PATTERNS["all_answered"], {}
    args = {
        "consultation.ask": {"names": names, "question": str(detail.get("question"))},
        "consultation.answer": {
            "name": str(detail.get("name")),
            "opinion": str(detail.get("opinion")),
        },
        "consultation.withdraw": {"names": missing},
        "task.copy": {"name": str(detail.get("name")), "note": str(detail.get("note"))},
    }.get(action, {})
    pattern = NOTE_PATTERNS.get(action) if args else None
    return task_id, pattern, args


def visible_links(session: Session, principal: Principal, case: CaseFile) -> list[LinkView]:
    """Linked cases in both directions, leaving out those the principal may not see."""
    found = cases.linked(session, case.id)
    if not found:
        return []
    seen = set(
        session.execute(
            select(CaseFile.id).where(
                CaseFile.id.in_([other.id for _, _, other in found]), access.case_scope(principal)
            )
        ).scalars()
    )
    standings = (
        served.standings(session, (other for _, _, other in found if other.id in seen))
        if principal.role == "cadre"
        else {}
    )
    return [
        LinkView(
            direction=direction,
            kind=link.kind,
            kind_name=LINK_NAMES.get(link.kind, link.kind),
            id=other.id,
            number=other.number,
            process=other.kind,
            process_name=cases.KIND_NAMES.get(other.kind, other.kind),
            title=other.title,
            status=standings[other.id].status if other.id in standings else other.status,
            status_name=standings[other.id].status_name
            if other.id in standings
            else STATUS_NAMES.get(other.status, other.status),
        )
        for direction, link, other in found
        if other.id in seen
    ]


def urges(session: Session, case: CaseFile) -> list[Urge]:
    """催办 recorded on the case's tasks, oldest first."""
    if case.instance_id is None:
        return []
    rows = session.execute(
        select(TaskUrge, HumanTask.name)
        .join(HumanTask, HumanTask.id == TaskUrge.task_id)
        .where(TaskUrge.instance_id == case.instance_id)
        .order_by(TaskUrge.id)
    ).all()
    names = people.labels(session, (u.urged_by for u, _name in rows))
    return [
        Urge(u.id, u.task_id, name, u.urged_by, names[u.urged_by], u.note, u.created_at)
        for u, name in rows
    ]


def diagram(session: Session, case: CaseFile, *, with_xml: bool = False) -> Diagram | None:
    """The process version the case runs on and the elements passed and active now, for
    highlighting the diagram; the BPMN XML too when asked."""
    if case.instance_id is None:
        return None
    columns: list[Any] = [Instance.state, ProcessVersion.process_key, ProcessVersion.version]
    if with_xml:
        columns.append(ProcessVersion.bpmn_xml)
    row = session.execute(
        select(*columns)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
        .where(Instance.id == case.instance_id)
    ).one_or_none()
    if row is None:
        return None
    view = engine.view_state(row.state)
    return Diagram(
        process_key=row.process_key,
        version=row.version,
        completed=view.completed,
        active=view.active,
        bpmn_xml=row.bpmn_xml if with_xml else None,
    )


def case_diagram(session: Session, *, principal: Principal, case_id: int) -> Diagram:
    """The diagram of a case the principal sees, with its BPMN XML; NotFound when the case is
    out of sight or runs no process, and for a cadre (the diagram's parts are internal)."""
    case = access.get_case_to_read(session, principal, case_id)
    if principal.role == "cadre":
        raise NotFound(t("案件 %(number)s 的流程图不对当事干部提供", number=case.number))
    found = diagram(session, case, with_xml=True)
    if found is None:
        raise NotFound(t("案件 %(number)s 没有流程实例", number=case.number))
    return found


# --- the tolerance review's recommendation (§2.2.5) ----------------------------------------


@dataclass(frozen=True)
class ElementView:
    name: str
    favourable: bool
    pole: str  # the pole found, named
    reason: str


@dataclass(frozen=True)
class DistinctionView:
    name: str
    answer: bool | None
    note: str


@dataclass(frozen=True)
class RecommendationView:
    """The six-element analysis and the decision table's recommendation."""

    from_case: CaseView | None  # the linked review it comes from, when not the case itself
    key: str
    name: str
    analysed_by: str
    analysed_by_name: str  # 姓名（单位·岗位）
    recorded_at: datetime
    elements: tuple[ElementView, ...]
    distinctions: tuple[DistinctionView, ...]


def recommendation(
    session: Session, *, principal: Principal, case: CaseFile
) -> RecommendationView | None:
    """The latest six-element analysis for a tolerance review, or for an accountability case
    from its linked review the principal sees; None while there is none."""
    return _recommendation(session, case, visible_links(session, principal, case))


def _recommendation(
    session: Session, case: CaseFile, links: Iterable[LinkView]
) -> RecommendationView | None:
    reviews = (
        [case.id]
        if case.kind == "tolerance_review"
        else [link.id for link in links if link.process == "tolerance_review"]
    )
    for review_id in reversed(reviews):
        analysis = tolerance.latest_analysis(session, review_id)
        if analysis is None:
            continue
        elements, distinctions = json.loads(analysis.elements), json.loads(analysis.distinctions)
        favourable = {
            key: elements.get(key, {}).get("pole") == "favourable" for key, *_ in tolerance.ELEMENTS
        }
        return RecommendationView(
            from_case=case_views(session, [cases.get(session, review_id)])[0]
            if review_id != case.id
            else None,
            key=analysis.recommendation,
            name=tolerance.OUTCOME_NAMES.get(analysis.recommendation, analysis.recommendation),
            analysed_by=analysis.analysed_by,
            analysed_by_name=people.label(session, analysis.analysed_by) or "",
            recorded_at=analysis.recorded_at,
            elements=tuple(
                ElementView(
                    name,
                    favourable[key],
                    good if favourable[key] else bad,
                    elements.get(key, {}).get("reason", ""),
                )
                for key, name, good, bad in tolerance.ELEMENTS
            ),
            distinctions=tuple(
                DistinctionView(
                    name,
                    distinctions.get(key, {}).get("answer"),
                    distinctions.get(key, {}).get("note", ""),
                )
                for key, name in tolerance.DISTINCTIONS
            ),
        )
    return None

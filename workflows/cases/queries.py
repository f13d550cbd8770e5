"""Read-side queries of cases for the API and the pages: lists with filters, one case with
its tasks, decisions, timeline, links and diagram state, cadre records (the blacklist's
reads are blacklist_views.py).

Nothing here changes data or restores a workflow: stored state is read as plain JSON
(`engine.view_state`). Every query is scoped by workflows/access.py; what a principal may
not see is left out (a linked case) or missing (NotFound).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from workflows import access, textsearch
from workflows.access import Principal
from workflows.cadres import service as cadres
from workflows.cadres.models import Cadre, PromotionBan
from workflows.cases import accountability, appeal, clarification, rectification, tolerance
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, Decision
from workflows.engine import spiff as engine
from workflows.engine.models import AuditEvent, HumanTask, Instance, ProcessVersion
from workflows.org.models import OrgUnit
from workflows.tasks.models import TaskComment, TaskUrge

STATUS_NAMES = {"open": "办理中", "decided": "已作出决定", "final": "决定已生效", "closed": "已结案",
                "overdue": "已逾期", "verifying": "待验收"}
#: Case outcomes in Chinese, per kind.
OUTCOME_NAMES: dict[str, dict[str, str]] = {
    "accountability": {**accountability.OUTCOMES, **cadres.ADJUSTMENT_NAMES, "revoked": "原决定已撤销"},
    "tolerance_review": {**tolerance.OUTCOME_NAMES, "revoked": "原认定已撤销"},
    "appeal": appeal.OUTCOMES,
    "rectification": rectification.RESULTS,
    "clarification": {"report_untrue": "反映不实", "clarified": "已澄清正名",
                      **{value: clarification.FINDINGS[key] for key, value in clarification.OUTCOMES.items()
                         if key != "untrue"}},
}
#: The lane of escalations (督办): an open task there means a deadline has passed.
ESCALATION_ROLE = "supervisor"
#: Timeline labels of the actions that touch a case.
ACTION_LABELS = {
    "case.open": "登记案件", "instance.start": "流程启动", "task.complete": "办理",
    "timer.fire": "期限届至", "timer.error": "定时器出错", "message.deliver": "收到关联案件的结果",
    "incident.retry": "故障重试", "incident.resolve": "故障已解决", "incident.cancel": "故障已取消",
    "timer.cancel": "撤销出错的定时器",
    "case.appeal": "提出申诉", "case.exemption_application": "提出免责申请",
    "task.claim": "认领任务", "task.unclaim": "退回认领", "task.delegate": "委派任务",
    "task.transfer": "转办任务", "task.urge": "催办", "task.comment": "发表意见",
    "document.add": "添加材料", "document.withdraw": "撤回材料",
    "blacklist.correct": "更正失信黑名单条目",
}
MESSAGE_LABELS = {tolerance.MESSAGE: "收到容错认定意见"}


def outcome_name(kind: str, outcome: str | None) -> str | None:
    """The outcome of a case of `kind` in Chinese (the key itself when unnamed)."""
    return None if outcome is None else OUTCOME_NAMES.get(kind, {}).get(outcome, outcome)


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
    supervisor (an open 督办 task), or a process that marked the case overdue."""
    late = exists().where(HumanTask.instance_id == CaseFile.instance_id, HumanTask.state == "open",
                          or_(HumanTask.due_at < now, HumanTask.role == ESCALATION_ROLE))
    return or_(CaseFile.status == "overdue", late)


def case_rows(principal: Principal, filters: CaseFilters, *, now: datetime) -> Select[Any]:
    """Cases the principal sees, newest first, with their next due time and overdue mark."""
    next_due = (select(func.min(HumanTask.due_at))
                .where(HumanTask.instance_id == CaseFile.instance_id, HumanTask.state == "open")
                .scalar_subquery())
    late = overdue_clause(now)
    query = cast(Select[Any], select(CaseFile, next_due.label("next_due_at"), late.label("overdue"))
                 .where(access.case_scope(principal)))
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
    found = textsearch.matching(filters.text, CaseFile.number, CaseFile.subject_name, CaseFile.title)
    if found is not None:
        query = query.where(found)
    return query.order_by(CaseFile.opened_at.desc(), CaseFile.id.desc())


def count_of(session: Session, query: Select[Any]) -> int:
    """How many rows a list query matches (its columns and order left out)."""
    inner = query.order_by(None).with_only_columns(CaseFile.id)
    return int(session.execute(select(func.count()).select_from(inner.subquery())).scalar_one())


# --- one case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    role: str | None
    action: str
    label: str
    task_id: int | None = None
    task_name: str | None = None
    element: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class LinkedCase:
    direction: str  # "to": this case gave rise to the other; "from": the other to this one
    kind: str
    case: CaseFile


@dataclass(frozen=True)
class Urge:
    id: int
    task_id: int
    task_name: str
    urged_by: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Diagram:
    process_key: str
    version: int
    completed: tuple[str, ...]
    active: tuple[str, ...]
    bpmn_xml: str | None = None


@dataclass
class CaseDetail:
    case: CaseFile
    cadre: Cadre | None
    org_unit_name: str
    overdue: bool
    tasks: list[HumanTask]
    decisions: list[Decision]
    timeline: list[TimelineEntry]
    links: list[LinkedCase]
    urges: list[Urge]
    comments: int
    diagram: Diagram | None


def case_detail(session: Session, *, principal: Principal, case_id: int, now: datetime) -> CaseDetail:
    """The case if visible to `principal` (NotFound otherwise) with everything its page shows."""
    case = access.get_case(session, principal, case_id)
    unit = session.get(OrgUnit, case.org_unit_code)
    iid = case.instance_id
    overdue = bool(session.execute(select(overdue_clause(now)).select_from(CaseFile)
                                   .where(CaseFile.id == case.id)).scalar())
    tasks = list(session.execute(
        select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.state == "open")
        .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id)).scalars()) if iid else []
    decisions = list(session.execute(
        select(Decision).where(Decision.case_id == case.id).order_by(Decision.id)).scalars())
    comments = int(session.execute(select(func.count()).select_from(TaskComment)
                                   .where(TaskComment.instance_id == iid)).scalar_one()) if iid else 0
    return CaseDetail(
        case=case, cadre=session.get(Cadre, case.cadre_id) if case.cadre_id is not None else None,
        org_unit_name=unit.name if unit else case.org_unit_code, overdue=overdue, tasks=tasks,
        decisions=decisions, timeline=timeline(session, case), links=visible_links(session, principal, case),
        urges=urges(session, case), comments=comments, diagram=diagram(session, case))


def timeline(session: Session, case: CaseFile) -> list[TimelineEntry]:
    """What happened to the case, oldest first, from the audit trail: its instance's steps and
    the case-level rows (recorded with the instance). Form data is never shown."""
    if case.instance_id is None:
        return []
    rows = session.execute(select(AuditEvent).where(AuditEvent.instance_id == case.instance_id)
                           .order_by(AuditEvent.id)).scalars().all()
    task_ids = {int(row.object_id) for row in rows if row.object_type == "task" and row.object_id.isdigit()}
    names = {task_id: name for task_id, name in session.execute(
        select(HumanTask.id, HumanTask.name).where(HumanTask.id.in_(task_ids)))} if task_ids else {}
    return [_entry(row, names) for row in rows]


def _entry(row: AuditEvent, task_names: dict[int, str]) -> TimelineEntry:
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {}
    by = detail.get("by") if isinstance(detail.get("by"), dict) else {}
    label = ACTION_LABELS.get(row.action, row.action)
    task_id = int(row.object_id) if row.object_type == "task" and row.object_id.isdigit() else None
    element = note = None
    if row.object_type == "task":
        element = detail.get("task") if isinstance(detail.get("task"), str) else None
    elif row.action == "timer.fire":
        fired = [t.get("element") for t in detail.get("timers", []) if isinstance(t, dict)]
        element = fired[0] if fired else None
    elif row.action == "timer.error":
        element = detail.get("element") if isinstance(detail.get("element"), str) else None
    elif row.action == "message.deliver":
        label = MESSAGE_LABELS.get(str(detail.get("message")), label)
        note = detail.get("case_number")
    elif row.action.startswith("case."):
        note = detail.get("case_number") or detail.get("number")
    elif row.action.startswith("document."):
        note = detail.get("filename")
    elif row.action == "blacklist.correct":
        note = f"第 {detail.get('corrects_entry_id')} 条 → 第 {detail.get('entry_id')} 条"
    task_name = task_names.get(task_id) if task_id is not None else None
    return TimelineEntry(at=row.at, actor=row.actor, role=(by or {}).get("role"), action=row.action,
                         label=f"{label}：{task_name}" if task_name else label,
                         task_id=task_id, task_name=task_name, element=element, note=note)


def visible_links(session: Session, principal: Principal, case: CaseFile) -> list[LinkedCase]:
    """Linked cases in both directions, leaving out those the principal may not see."""
    found = cases.linked(session, case.id)
    if not found:
        return []
    seen = set(session.execute(select(CaseFile.id).where(
        CaseFile.id.in_([other.id for _, _, other in found]), access.case_scope(principal))).scalars())
    return [LinkedCase(direction, link.kind, other) for direction, link, other in found if other.id in seen]


def urges(session: Session, case: CaseFile) -> list[Urge]:
    """催办 recorded on the case's tasks, oldest first."""
    if case.instance_id is None:
        return []
    rows = session.execute(
        select(TaskUrge, HumanTask.name).join(HumanTask, HumanTask.id == TaskUrge.task_id)
        .where(TaskUrge.instance_id == case.instance_id).order_by(TaskUrge.id)).all()
    return [Urge(u.id, u.task_id, name, u.urged_by, u.note, u.created_at) for u, name in rows]


def diagram(session: Session, case: CaseFile, *, with_xml: bool = False) -> Diagram | None:
    """The process version the case runs on and the elements passed and active now, for
    highlighting the diagram; the BPMN XML too when asked."""
    if case.instance_id is None:
        return None
    columns: list[Any] = [Instance.state, ProcessVersion.process_key, ProcessVersion.version]
    if with_xml:
        columns.append(ProcessVersion.bpmn_xml)
    row = session.execute(select(*columns).join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
                          .where(Instance.id == case.instance_id)).one_or_none()
    if row is None:
        return None
    view = engine.view_state(row.state)
    return Diagram(process_key=row.process_key, version=row.version, completed=view.completed,
                   active=view.active, bpmn_xml=row.bpmn_xml if with_xml else None)


# --- cadres ----------------------------------------------------------------------------------


def cadre_rows(principal: Principal, *, text: str | None = None) -> Select[Any]:
    """Cadres the principal sees, by name, with their org unit's name."""
    query = cast(Select[Any], select(Cadre, OrgUnit.name.label("org_unit_name"))
                 .join(OrgUnit, OrgUnit.code == Cadre.org_unit_code).where(access.cadre_scope(principal)))
    found = textsearch.matching(text, Cadre.name, Cadre.post)
    if found is not None:
        query = query.where(found)
    return query.order_by(Cadre.name, Cadre.id)


def count_cadres(session: Session, query: Select[Any]) -> int:
    inner = query.order_by(None).with_only_columns(Cadre.id)
    return int(session.execute(select(func.count()).select_from(inner.subquery())).scalar_one())


@dataclass(frozen=True)
class Ban:
    ban: PromotionBan
    case_number: str
    in_force: bool


@dataclass
class CadreRecord:
    cadre: Cadre
    org_unit_name: str
    bans: list[Ban]
    tolerance_notes: list[tolerance.ToleranceNote]
    cases: list[Any]  # rows of case_rows


def cadre_record(session: Session, *, principal: Principal, cadre_id: int, today: date,
                 now: datetime) -> CadreRecord:
    """A cadre's record if visible (NotFound otherwise): promotion bans, tolerance notes and the
    cases about them that the principal sees."""
    cadre = access.get_cadre(session, principal, cadre_id)
    unit = session.get(OrgUnit, cadre.org_unit_code)
    bans = cadres.bans(session, cadre_id=cadre.id)
    numbers = _case_numbers(session, {b.case_id for b in bans})
    rows = session.execute(case_rows(principal, CaseFilters(cadre_id=cadre.id), now=now).limit(500)).all()
    return CadreRecord(
        cadre=cadre, org_unit_name=unit.name if unit else cadre.org_unit_code,
        bans=[Ban(b, numbers.get(b.case_id, ""), _in_force(b, today)) for b in bans],
        tolerance_notes=tolerance.tolerance_notes(session, cadre_id=cadre.id), cases=list(rows))


def _in_force(ban: PromotionBan, on: date) -> bool:
    return ban.status == "active" and ban.starts_on <= on < ban.ends_on


def _case_numbers(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {case_id: number for case_id, number in session.execute(
        select(CaseFile.id, CaseFile.number).where(CaseFile.id.in_(ids)))}


@dataclass(frozen=True)
class Eligibility:
    cadre: Cadre
    on: date
    eligible: bool
    until: date | None
    because: list[str]
    message: str


def promotion_eligibility(session: Session, *, principal: Principal, cadre_id: int, on: date) -> Eligibility:
    """Eligible for promotion on `on`, or not until a date because of which cases (§6); for a
    cadre the principal sees (NotFound otherwise)."""
    cadre = access.get_cadre(session, principal, cadre_id)
    answer = cadres.eligibility(session, cadre_id=cadre.id, on=on)
    if answer.eligible:
        return Eligibility(cadre, on, True, None, [], f"{cadre.name}于 {on} 不受提拔限制")
    in_force = sorted((b for b in cadres.bans(session, cadre_id=cadre.id) if _in_force(b, on)),
                      key=lambda b: b.ends_on, reverse=True)
    numbers = _case_numbers(session, {b.case_id for b in in_force})
    because = list(dict.fromkeys(
        n for n in [answer.case_number, *(numbers.get(b.case_id) for b in in_force)] if n))
    return Eligibility(cadre, on, False, answer.until, because,
                       f"{cadre.name}在 {answer.until} 之前不得提拔：因案件 {'、'.join(because)}"
                       f"（{answer.reason}）")

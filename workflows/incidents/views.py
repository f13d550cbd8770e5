"""Reads of incidents, for the API, the 故障 page and the case page's banner.

Administrators see the incidents of instances in their units (and of instances with no unit);
designers see every incident (they fix the definitions; the case itself stays out of their
sight, so its number is shown only to those who may see the case). Everyone else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.orm import Session

from workflows import access, paging
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.engine.incidents import service
from workflows.engine.incidents.models import OPEN, STATUSES, Incident
from workflows.engine.models import Instance, ProcessVersion
from workflows.errors import Forbidden, NotFound
from workflows.messages import t
from workflows.org import people
from workflows.roles import ROLES

#: Who sees and handles incidents.
HANDLERS = frozenset({"admin", "designer"})
STATUS_NAMES = {"open": "待处理", "resolved": "已解决", "cancelled": "已取消"}


@dataclass(frozen=True)
class IncidentView:
    """An incident as people see it, with what the principal may do about it."""

    id: int
    instance_id: int
    process_key: str
    process_name: str
    process_version: int
    org_unit: str | None
    case_id: int | None  # only when the principal may see the case
    case_number: str | None
    kind: str
    element: str | None
    message: str
    status: str
    status_name: str
    attempts: int
    max_attempts: int
    first_seen: datetime
    last_seen: datetime
    next_retry_at: datetime | None  # None while open: waits for a person
    closed_at: datetime | None
    closed_by: str | None
    may_retry: bool
    may_cancel: bool
    closed_by_name: str | None = None  # 姓名（单位·岗位）


@dataclass(frozen=True)
class Stuck:
    """What a case page says about its instance's open incident (everyone who sees the case
    sees that it is stuck; only handlers see why and get the link)."""

    incident_id: int
    element: str | None
    message: str
    since: datetime
    attempts: int
    next_retry_at: datetime | None
    may_handle: bool


def check_may_handle(principal: Principal) -> None:
    """Only administrators and designers see and handle incidents."""
    if principal.role not in HANDLERS:
        raise Forbidden(
            t(
                "只有系统管理和流程设计人员可以查看和处理故障：%(username)s 是%(role)s人员",
                username=principal.username,
                role=ROLES.get(principal.role, principal.role),
            )
        )


def scope(principal: Principal) -> ColumnElement[bool]:
    """The incidents a handler sees, as a clause over Incident joined with Instance."""
    if principal.role == "designer":
        return true()
    return or_(Instance.org_unit.is_(None), Instance.org_unit.in_(sorted(principal.units)))


def _query(principal: Principal) -> Select[Any]:
    case_visible = and_(CaseFile.id.is_not(None), access.case_scope(principal))
    return cast(
        Select[Any],
        (
            select(
                Incident.id,
                Incident.instance_id,
                Instance.process_key,
                ProcessVersion.name.label("process_name"),
                ProcessVersion.version.label("process_version"),
                Instance.org_unit,
                CaseFile.id.label("case_id"),
                CaseFile.number.label("case_number"),
                case_visible.label("case_visible"),
                Incident.kind,
                Incident.element,
                Incident.message,
                Incident.status,
                Incident.attempts,
                Incident.first_seen,
                Incident.last_seen,
                Incident.next_retry_at,
                Incident.closed_at,
                Incident.closed_by,
            )
            .join(Instance, Instance.id == Incident.instance_id)
            .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
            .outerjoin(CaseFile, CaseFile.instance_id == Incident.instance_id)
            .where(scope(principal))
        ),
    )


def _view(row: Any, names: people.Labels) -> IncidentView:
    shown = bool(row.case_visible)
    is_open = row.status == OPEN
    return IncidentView(
        id=row.id,
        instance_id=row.instance_id,
        process_key=row.process_key,
        process_name=row.process_name,
        process_version=row.process_version,
        org_unit=row.org_unit,
        case_id=row.case_id if shown else None,
        case_number=row.case_number if shown else None,
        kind=row.kind,
        element=row.element,
        message=row.message,
        status=row.status,
        status_name=STATUS_NAMES.get(row.status, row.status),
        attempts=row.attempts,
        max_attempts=service.MAX_ATTEMPTS,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        next_retry_at=row.next_retry_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        closed_by_name=names.of(row.closed_by),
        may_retry=is_open,
        may_cancel=is_open,
    )


def incidents(
    session: Session,
    *,
    principal: Principal,
    status: str | None = OPEN,
    page: int = 1,
    per_page: int = 50,
) -> paging.Page[IncidentView]:
    """One page of the incidents the principal sees (of one status, or all), most recently
    seen first, and how many there are."""
    check_may_handle(principal)
    query = _query(principal)
    if status is not None:
        if status not in STATUSES:
            raise NotFound(t("没有状态为 %(status)s 的故障", status=status))
        query = query.where(Incident.status == status)
    found = paging.paginate(
        session,
        query.order_by(Incident.last_seen.desc(), Incident.id.desc()),
        page=page,
        per_page=per_page,
        key=Incident.id,
    )
    names = people.labels(session, (row.closed_by for row in found.items))
    return found.map(lambda row: _view(row, names))


def incident(session: Session, *, principal: Principal, incident_id: int) -> IncidentView:
    """One incident the principal sees; NotFound otherwise, as if it did not exist."""
    check_may_handle(principal)
    if not 0 < incident_id <= access.MAX_ID:
        raise NotFound(t("故障 %(incident_id)s 不存在", incident_id=incident_id))
    row = session.execute(_query(principal).where(Incident.id == incident_id)).first()
    if row is None:
        raise NotFound(t("故障 %(incident_id)s 不存在", incident_id=incident_id))
    return _view(row, people.labels(session, [row.closed_by]))


def visible(session: Session, *, principal: Principal, incident_id: int) -> Incident:
    """The incident row, when the principal may handle it (NotFound as if it did not exist)."""
    incident(session, principal=principal, incident_id=incident_id)
    found = session.get(Incident, incident_id)
    assert found is not None
    return found


def stuck(session: Session, *, principal: Principal, instance_id: int | None) -> Stuck | None:
    """The open incident of a case's instance, for its page; None when it runs normally."""
    if instance_id is None:
        return None
    row = session.execute(
        select(Incident)
        .where(Incident.instance_id == instance_id, Incident.status == OPEN)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        return None
    return Stuck(
        incident_id=row.id,
        element=row.element,
        message=row.message,
        since=row.first_seen,
        attempts=row.attempts,
        next_retry_at=row.next_retry_at,
        may_handle=principal.role in HANDLERS,
    )

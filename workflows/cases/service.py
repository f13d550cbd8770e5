"""Opening cases, numbering them, linking them and recording who acted on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflows.cadres.models import Cadre
from workflows.cases.models import CaseActor, CaseCounter, CaseFile, CaseLink
from workflows.definitions import deployment
from workflows.engine import audit, functions, hooks, instances, settings, versions
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, Instance, ProcessVersion, Timer, table_of
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t
from workflows.org.models import OrgUnit

#: Case number prefixes per process kind (问责 WZ, 容错 RC, 申诉 SS, 整改 ZG, 澄清 CQ).
PREFIXES = {
    "accountability": "WZ",
    "tolerance_review": "RC",
    "appeal": "SS",
    "rectification": "ZG",
    "clarification": "CQ",
}
KIND_NAMES = {
    "accountability": "问责",
    "tolerance_review": "容错免责",
    "appeal": "申诉",
    "rectification": "纠错整改",
    "clarification": "澄清正名",
}

#: Deadlines on which a process branches (DOMAIN.md §4: the appeal window closing makes a
#: decision final); a deployment changes them with the `deadlines` setting. Every step's own
#: time limit is a per-step setting (`workflows.engine.time_limits`).
DEADLINE_DEFAULTS: dict[str, int] = {
    "appeal_window_months": 1,
}


#: Process data keys no form may set: a case's identity.
PROTECTED_KEYS = ("case_id", "case_number", "cadre_id", "subject_name", "org_unit", "opened_on")


def deadline_settings(session: Session) -> dict[str, int]:
    """The deadline defaults with this deployment's overrides applied."""
    stored = settings.get(session, "deadlines", {}) or {}
    return {key: int(stored.get(key, default)) for key, default in DEADLINE_DEFAULTS.items()}


def _next_seq(session: Session, kind: str, year: int) -> int:
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table_of(CaseCounter))
        .values(kind=kind, year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=["kind", "year"], set_={"last_seq": table_of(CaseCounter).c.last_seq + 1}
        )
        .returning(table_of(CaseCounter).c.last_seq)
    )
    return int(conn.execute(statement).scalar_one())


def number_for(kind: str, year: int, seq: int) -> str:
    return f"{PREFIXES[kind]}-{year}-{seq:06d}"


@dataclass(frozen=True)
class Subject:
    """Whom a case is about: a cadre on record, or (for an accuser) a named person."""

    cadre_id: int | None = None
    name: str | None = None
    org_unit_code: str | None = None


def open_case(
    session: Session,
    *,
    kind: str,
    subject: Subject,
    title: str,
    data: Mapping[str, Any],
    actor: str,
    clock: Clock,
    source: str | None = None,
    links: list[tuple[int, str]] | None = None,
    origin: str | None = None,
) -> CaseFile:
    """Numbers a new case, starts its process in the managing org unit, audits it as
    `case.open` (with `origin`, or the first linked case's number); flushes.

    `links` are (other case id, kind) pairs: the new case is linked *from* each."""
    if kind not in PREFIXES:
        raise ValidationFailed(
            t("未知的案件类型 %(kind)r", kind=kind),
            [
                {
                    "field": "kind",
                    "message": t("应为以下之一：%(choices)s", choices=", ".join(PREFIXES)),
                }
            ],
        )
    cadre = None
    if subject.cadre_id is not None:
        cadre = session.get(Cadre, subject.cadre_id)
        if cadre is None:
            raise NotFound(t("干部 %(cadre_id)s 不存在", cadre_id=subject.cadre_id))
    org_unit = cadre.org_unit_code if cadre else subject.org_unit_code
    if org_unit is None or session.get(OrgUnit, org_unit) is None:
        raise ValidationFailed(
            t("案件须有主管单位"),
            [{"field": "org_unit", "message": t("应为已有单位的代码")}],
        )
    name = cadre.name if cadre else (subject.name or "").strip()
    if not name:
        raise ValidationFailed(
            t("案件须有当事人"),
            [{"field": "subject", "message": t("应为一名干部，或填写当事人姓名")}],
        )
    version = deployment.latest(session, process_key=kind)
    now = clock.now()
    year = now.astimezone(clock.tz).year
    seq = _next_seq(session, kind, year)
    case = CaseFile(
        number=number_for(kind, year, seq),
        kind=kind,
        year=year,
        seq=seq,
        cadre_id=subject.cadre_id,
        subject_name=name,
        org_unit_code=org_unit,
        title=title,
        status="open",
        source=source,
        registered_on=clock.today(),
        opened_at=now,
        opened_by=actor,
    )
    session.add(case)
    session.flush()
    for other_id, link_kind in links or []:
        link(session, from_case_id=other_id, to_case_id=case.id, kind=link_kind, clock=clock)
    process_data = {
        **deadline_settings(session),
        **dict(data),
        "case_id": case.id,
        "case_number": case.number,
        "cadre_id": subject.cadre_id,
        "subject_name": name,
        "org_unit": org_unit,
        "opened_on": clock.today().isoformat(),
    }
    instance = instances.start(
        session, version=version, data=process_data, org_unit=org_unit, actor=actor, clock=clock
    )
    case.instance_id = instance.id
    if instance.status == "completed":
        case.status, case.closed_at = "closed", now
    session.flush()
    if origin is None and links:
        origin = session.get(CaseFile, links[0][0]).number  # type: ignore[union-attr]
    audit.record(
        session,
        at=now,
        actor=actor,
        action="case.open",
        object_type="case",
        object_id=case.id,
        instance_id=case.instance_id,
        detail={"number": case.number, "kind": kind, "cadre_id": case.cadre_id, "origin": origin},
    )
    return case


#: Every case has its `case.open` row: `audit verify` reports one that has none.
OPENED = (
    select(CaseFile.id, CaseFile.number).order_by(CaseFile.id),
    lambda row: f"案件 {row.number}（{row.id}）已登记",
)


def link(
    session: Session, *, from_case_id: int, to_case_id: int, kind: str, clock: Clock
) -> CaseLink:
    row = CaseLink(
        from_case_id=from_case_id, to_case_id=to_case_id, kind=kind, created_at=clock.now()
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, case_id: int) -> CaseFile:
    case = session.get(CaseFile, case_id)
    if case is None:
        raise NotFound(t("案件 %(case_id)s 不存在", case_id=case_id))
    return case


def by_number(session: Session, number: str) -> CaseFile:
    case = session.execute(select(CaseFile).where(CaseFile.number == number)).scalar_one_or_none()
    if case is None:
        raise NotFound(t("案件 %(number)s 不存在", number=number))
    return case


def of_context(context: hooks.ActionContext) -> CaseFile:
    """The case a process action runs in (its data carries `case_id`)."""
    case_id = context.data.get("case_id")
    if case_id is None:
        raise NotFound(
            t("流程实例 %(instance_id)s 没有对应的案件", instance_id=context.instance_id)
        )
    return get(context.session, int(case_id))


def linked(session: Session, case_id: int) -> list[tuple[str, CaseLink, CaseFile]]:
    """Links in both directions: ('to'|'from', link, the other case)."""
    rows = (
        session.execute(
            select(CaseLink)
            .where((CaseLink.from_case_id == case_id) | (CaseLink.to_case_id == case_id))
            .order_by(CaseLink.id)
        )
        .scalars()
        .all()
    )
    found = []
    for row in rows:
        outgoing = row.from_case_id == case_id
        other = get(session, row.to_case_id if outgoing else row.from_case_id)
        found.append(("to" if outgoing else "from", row, other))
    return found


def actors(session: Session, case_id: int) -> set[str]:
    """Everyone who handled or decided the case."""
    return set(
        session.execute(select(CaseActor.username).where(CaseActor.case_id == case_id)).scalars()
    )


def case_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(CaseFile)).scalar_one())


@hooks.after_any_completion
def _record_actor(context: hooks.ActionContext) -> None:
    case_id = context.data.get("case_id")
    if case_id is None:
        return
    context.session.add(
        CaseActor(
            case_id=int(case_id),
            username=context.actor,
            capacity=context.properties.get("capacity", "handled"),
            element=context.element,
            at=context.clock.now(),
        )
    )


def refuse(message: str, field: str, hint: str | None = None) -> ValidationFailed:
    """The error an action raises when a rule is broken: the message names the rule."""
    return ValidationFailed(message, [{"field": field, "message": hint or message}])


class Refusals:
    """The rules one submission breaks, gathered so that all of them are refused at once
    (the clerk fixes every one in one go): `add` each broken rule, then `check`."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, message: str, field: str) -> None:
        self.errors.append({"field": field, "message": message})

    def check(self) -> None:
        """Raises ValidationFailed naming every broken rule with its field; returns if none."""
        if len(self.errors) == 1:
            raise ValidationFailed(self.errors[0]["message"], self.errors)
        if self.errors:
            said = "；".join(e["message"] for e in self.errors)
            raise ValidationFailed(
                t("共 %(count)s 处不符合规定：%(said)s", count=len(self.errors), said=said),
                self.errors,
            )


def parse_date(value: Any, field: str) -> date:
    """A form's ISO date, or ValidationFailed naming the field."""
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed(
            t("%(field)s 不是日期", field=field),
            [{"field": field, "message": t("应为日期，如 2026-03-02")}],
        ) from None


def waiting_data(session: Session, case: CaseFile, clock: Clock) -> dict[str, Any]:
    """The process data the case's waiting steps carry (open tasks and timers, oldest last
    winning), read from its running instance; {} when nothing waits."""
    instance = session.get(Instance, case.instance_id) if case.instance_id is not None else None
    if instance is None:
        return {}
    waiting = [
        *session.execute(
            select(HumanTask.spiff_task_id).where(
                HumanTask.instance_id == instance.id, HumanTask.state == "open"
            )
        ).scalars(),
        *session.execute(
            select(Timer.spiff_task_id).where(Timer.instance_id == instance.id)
        ).scalars(),
    ]
    version = session.get(ProcessVersion, instance.process_version_id)
    if not waiting or version is None:
        return {}
    run = engine.restore(
        versions.compiled_spec(version),
        instance.state,
        clock=clock,
        functions=functions.bound(session, clock),
    )
    data: dict[str, Any] = {}
    for spiff_id in reversed(waiting):
        data |= run.task_data(spiff_id)
    return data

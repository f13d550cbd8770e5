"""退回 (send back) and 撤回 (withdraw): a completed step of a running case opens again.

退回: whoever may complete an open step sends the case back to a user step it actually
passed through (its ancestors in the engine's task tree), with a reason. 撤回: whoever
completed a step takes it back while nobody has claimed, drafted or completed a step that
followed. Both go through the one locked path (`instances.advance`) with SpiffWorkflow's
reset of the task: the engine state, the human-task rows (the open steps that followed
are cancelled, the target opens as a new row with a new time limit), the timers and the
audit row change in one transaction, and two racers (a return and a completion) cannot
both win — the loser finds the instance's version moved or its step closed.

The step reopens for the person who completed it before (their role's queue if they can
no longer act), with the reason and, as a draft, the data they had entered. What the
undone steps wrote (`workflows.engine.effects`) is undone without deleting anything: each
record they added is superseded by a `RecordSupersession` row pointing at it (a decision
stops being in force, a promotion ban stops counting), each value they changed on a case
is put back. There is no going back across a point of no return: a decision served (送达
sets the case's date of service — change it by appeal, DOMAIN.md §2.3), or another case
started or informed by a step that would be undone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cadres.models import PromotionBan
from workflows.cases.models import CaseFile, Decision
from workflows.engine import audit, effects, instances, versions
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import (
    AuditEvent,
    HumanTask,
    Instance,
    ProcessVersion,
    RecordSupersession,
    TaskAlarm,
)
from workflows.errors import Conflict, Forbidden, NotFound, TaskAlreadyCompleted, ValidationFailed
from workflows.messages import t
from workflows.org import people
from workflows.tasks import consultations, notifications
from workflows.tasks.models import GoingBack, TaskDraft

RETURN, WITHDRAW = "return", "withdraw"
KINDS = {RETURN: "退回", WITHDRAW: "撤回"}
REASON_MAX = 1000
#: Actions by which a person took up a step: a follower taken up cannot be withdrawn past.
_TAKEN_UP = ("task.claim", "task.delegate", "task.transfer", "task.draft")
#: Records whose adding started or tied in another case: a point of no return.
_OTHER_CASES = frozenset({"case_file", "case_link"})


@dataclass(frozen=True)
class Target:
    """A step an open step may be sent back to: a completed step on its path."""

    step: str  # the BPMN element id, what `send_back` takes
    name: str
    task_id: int  # the completed step's row
    completed_by: str | None
    completed_at: datetime | None
    refusal: str | None  # why it cannot be returned to (a point of no return), else None
    completed_by_name: str | None = None  # 姓名（单位·岗位）


@dataclass(frozen=True)
class WentBack:
    going_back: GoingBack
    reopened: HumanTask
    cancelled: list[int]  # open steps cancelled
    superseded: list[tuple[str, int]]  # (table, id) of records that no longer count
    restored: list[tuple[str, int]]  # (table, id) of records whose values were put back


# -- the writes ------------------------------------------------------------------------------


def send_back(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    to_step: str,
    reason: str,
    clock: Clock,
) -> WentBack:
    """退回: the open step is cancelled and `to_step`, a step it passed through, opens again."""
    reason = _reason(reason)
    task, locked = _locked_task(session, principal, task_id)
    if task.state != "open":
        raise _closed(session, task)
    access.check_may_complete(session, principal, task)
    to_step = (to_step or "").strip()
    if not to_step:
        raise _invalid("to_step", t("请选择退回到哪个步骤"))

    def choose(run: engine.Run) -> HumanTask:
        targets = _targets(session, run, task)
        chosen = next((t for t in targets if t.step == to_step), None)
        if chosen is None:
            offered = "、".join(f"{t.name}（{t.step}）" for t in targets) or "无"
            raise _invalid(
                "to_step",
                t(
                    "「%(to_step)s」不是本步骤之前已经办理过的步骤：可退回到 %(offered)s",
                    to_step=to_step,
                    offered=offered,
                ),
            )
        if chosen.refusal:
            raise Conflict(chosen.refusal)
        target = session.get(HumanTask, chosen.task_id)
        assert target is not None
        return target

    return _go_back(
        session,
        principal=principal,
        locked=locked,
        kind=RETURN,
        from_task=task,
        subject=task,
        choose=choose,
        reason=reason,
        clock=clock,
    )


def withdraw(
    session: Session, *, principal: Principal, task_id: int, reason: str, clock: Clock
) -> WentBack:
    """撤回: the completed step opens again for whoever completed it, as long as nobody has
    taken up, drafted or completed a step that followed."""
    reason = _reason(reason)
    task, locked = _locked_task(session, principal, task_id)
    if task.state != "completed":
        raise Conflict(
            t("「%(name)s」尚未办结，无需撤回", name=task.name)
            if task.state == "open"
            else _gone(task)
        )
    if task.completed_by != principal.username:
        raise Forbidden(
            t(
                "只有办理人%(who)s可以撤回「%(name)s」",
                who=people.label(session, task.completed_by),
                name=task.name,
            )
        )
    if locked.status != "running":
        raise Conflict(t("流程已办结：不能撤回「%(name)s」", name=task.name))

    def choose(run: engine.Run) -> HumanTask:
        if _latest_row(
            session, task.instance_id, task.spiff_task_id
        ) != task.id or not run.is_completed_step(task.spiff_task_id):
            raise Conflict(_gone(task))
        followers = run.followers(task.spiff_task_id)
        done = [f for f in followers if f.completed]
        if done:
            names = "、".join(_name_of(session, task.instance_id, f.id) for f in done)
            raise Conflict(
                t(
                    "后续步骤「%(names)s」已经办理：不能撤回「%(name)s」",
                    names=names,
                    name=task.name,
                )
            )
        refusal = _refusal(session, run, task) or _taken_up(session, task.instance_id, followers)
        if refusal:
            raise Conflict(refusal)
        return task

    return _go_back(
        session,
        principal=principal,
        locked=locked,
        kind=WITHDRAW,
        from_task=None,
        subject=task,
        choose=choose,
        reason=reason,
        clock=clock,
    )


def _go_back(
    session: Session,
    *,
    principal: Principal,
    locked: instances.Locked,
    kind: str,
    from_task: HumanTask | None,
    subject: HumanTask,
    choose: Callable[[engine.Run], HumanTask],
    reason: str,
    clock: Clock,
) -> WentBack:
    chosen: list[HumanTask] = []
    undone: list[int] = []
    detail: dict[str, Any] = {"reason": reason}  # the audit row's, completed once chosen

    def apply(run: engine.Run) -> None:
        target = choose(run)
        chosen.append(target)
        detail.update(task=target.task_spec, to_step=target.task_spec, to_name=target.name)
        undone.extend(
            [target.id]
            + [
                row
                for f in run.followers(target.spiff_task_id)
                if f.completed
                for row in [_latest_completion(session, target.instance_id, f.id)]
                if row is not None
            ]
        )
        # the alarms of the step's earlier opening go: it gets a new time limit (§4)
        session.execute(
            delete(TaskAlarm).where(
                TaskAlarm.instance_id == target.instance_id,
                TaskAlarm.spiff_task_id == target.spiff_task_id,
            )
        )
        run.reset_to(target.spiff_task_id)

    open_before = _open_ids(session, locked.id)
    instances.advance(
        session,
        instance=locked,
        clock=clock,
        step=instances.Step(
            action=f"task.{kind}",
            actor=principal.username,
            object_type="task",
            object_id=subject.id,
            apply=apply,
            detail=detail,
            cancels_because=KINDS[kind],
        ),
    )
    (target,) = chosen
    now = clock.now()
    reopened = session.execute(
        select(HumanTask).where(
            HumanTask.instance_id == locked.id,
            HumanTask.spiff_task_id == target.spiff_task_id,
            HumanTask.state == "open",
        )
    ).scalar_one()
    cancelled = sorted(open_before - _open_ids(session, locked.id) - {reopened.id})
    holder = principal.username if kind == WITHDRAW else target.completed_by
    reopened.assignee = holder if holder and _may_hold(session, holder, reopened) else None
    going_back = GoingBack(
        instance_id=locked.id,
        kind=kind,
        from_task_id=from_task.id if from_task is not None else None,
        target_task_id=target.id,
        reopened_task_id=reopened.id,
        reason=reason,
        actor=principal.username,
        at=now,
    )
    session.add(going_back)
    session.flush()
    superseded, restored = _undo(session, going_back, undone, now)
    entered = _entered(session, target.id)
    if entered is not None:
        session.add(
            TaskDraft(
                task_id=reopened.id,
                data=json.dumps(entered, ensure_ascii=False),
                saved_by=target.completed_by or principal.username,
                saved_at=now,
            )
        )
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="task.reopen",
        object_type="task",
        object_id=reopened.id,
        instance_id=locked.id,
        detail={
            "task": target.task_spec,
            "going_back": going_back.id,
            "reason": reason,
            "from_task": from_task.id if from_task is not None else None,
            "reopened_task": reopened.id,
            "assignee": reopened.assignee,
            "cancelled": cancelled,
            "superseded": [f"{table}#{rid}" for table, rid in superseded],
            "restored": [f"{table}#{rid}" for table, rid in restored],
        },
    )
    _tell(session, principal, kind, reopened, reason, clock)
    session.flush()
    return WentBack(going_back, reopened, cancelled, superseded, restored)


def _undo(
    session: Session, going_back: GoingBack, undone: Sequence[int], now: datetime
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    superseded: list[tuple[str, int]] = []
    restored: list[tuple[str, int]] = []
    for effect in effects.of_steps(session, undone):
        if effect.record_table is None or effect.record_id is None:
            continue
        key = (effect.record_table, effect.record_id)
        if effect.change == effects.UPDATE:
            effects.restore(session, effect)
            restored.append(key)
        elif effect.change == effects.INSERT:
            session.add(
                RecordSupersession(
                    going_back_id=going_back.id,
                    record_table=effect.record_table,
                    record_id=effect.record_id,
                    at=now,
                )
            )
            _stop_counting(session, *key)
            superseded.append(key)
    session.flush()
    return superseded, restored


def _stop_counting(session: Session, table: str, record_id: int) -> None:
    """A superseded decision is no longer in force; a ban it brought no longer applies."""
    if table == "decision":
        decision = session.get(Decision, record_id)
        if decision is not None:
            decision.effective = "superseded"
    elif table == "promotion_ban":
        ban = session.get(PromotionBan, record_id)
        if ban is not None:
            ban.status = "superseded"


# -- the reads -------------------------------------------------------------------------------


def return_targets(
    session: Session, *, principal: Principal, task_id: int, clock: Clock
) -> list[Target]:
    """The steps the open task may be sent back to (nearest first), each with the reason it
    is refused if it is; empty for a principal who may not complete the task."""
    task = access.get_task(session, principal, task_id)
    if task.state != "open":
        return []
    try:
        access.check_may_complete(session, principal, task)
    except Forbidden:
        return []
    run = _run_of(session, task.instance_id, clock)
    if run is None:
        return []
    return _targets(session, run, task)


def withdraw_refusal(
    session: Session, *, principal: Principal, task_id: int, clock: Clock
) -> str | None:
    """Why the principal may not withdraw this step now (None when they may)."""
    task = access.get_task(session, principal, task_id)
    if task.state != "completed":
        return t("尚未办结") if task.state == "open" else _gone(task)
    if task.completed_by != principal.username:
        return t("只有办理人%(who)s可以撤回", who=people.label(session, task.completed_by))
    if _latest_row(session, task.instance_id, task.spiff_task_id) != task.id:
        return _gone(task)
    run = _run_of(session, task.instance_id, clock)
    if run is None:
        return t("流程已办结")
    if not run.is_completed_step(task.spiff_task_id):
        return _gone(task)
    followers = run.followers(task.spiff_task_id)
    done = [f for f in followers if f.completed]
    if done:
        names = "、".join(_name_of(session, task.instance_id, f.id) for f in done)
        return t("后续步骤「%(names)s」已经办理", names=names)
    return _refusal(session, run, task) or _taken_up(session, task.instance_id, followers)


@dataclass(frozen=True)
class Record:
    """A going back as the case's history shows it."""

    id: int
    kind: str
    label: str
    step: str
    actor: str
    at: datetime
    reason: str
    reopened_task_id: int
    actor_name: str
    superseded: int  # how many records it superseded
    #: what was entered when the step was completed before (with `reopened_by` only)
    entered: dict[str, Any] | None = None


def of_instance(session: Session, instance_id: int) -> list[Record]:
    """The instance's going backs, oldest first."""
    rows = session.execute(
        select(GoingBack, HumanTask.name)
        .join(HumanTask, HumanTask.id == GoingBack.reopened_task_id)
        .where(GoingBack.instance_id == instance_id)
        .order_by(GoingBack.id)
    ).all()
    names = people.labels(session, [g.actor for g, _ in rows])
    numbers: dict[int, int] = {}
    for gid in session.execute(
        select(RecordSupersession.going_back_id).where(
            RecordSupersession.going_back_id.in_([g.id for g, _ in rows])
        )
    ).scalars():
        numbers[gid] = numbers.get(gid, 0) + 1
    return [
        Record(
            id=g.id,
            kind=g.kind,
            label=KINDS[g.kind],
            step=name,
            actor=g.actor,
            actor_name=names[g.actor],
            at=g.at,
            reason=g.reason,
            reopened_task_id=g.reopened_task_id,
            superseded=numbers.get(g.id, 0),
        )
        for g, name in rows
    ]


def reopened_by(session: Session, task_id: int) -> Record | None:
    """The going back that opened this step again, if one did (its reason shows on the step)."""
    row = session.execute(
        select(GoingBack).where(GoingBack.reopened_task_id == task_id)
    ).scalar_one_or_none()
    if row is None:
        return None
    (record,) = [r for r in of_instance(session, row.instance_id) if r.id == row.id]
    return replace(record, entered=_entered(session, row.target_task_id))


def superseded_ids(session: Session, table: str, ids: Sequence[int]) -> set[int]:
    """Which of these records of `table` were superseded by a going back."""
    if not ids:
        return set()
    return set(
        session.execute(
            select(RecordSupersession.record_id).where(
                RecordSupersession.record_table == table,
                RecordSupersession.record_id.in_(list(ids)),
            )
        ).scalars()
    )


# -- helpers ---------------------------------------------------------------------------------


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise _invalid("reason", t("请填写理由"))
    if len(text) > REASON_MAX:
        raise _invalid(
            "reason",
            t(
                "理由不得超过 %(limit)s 个字：现为 %(count)s 个字",
                limit=REASON_MAX,
                count=len(text),
            ),
        )
    return text


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])


def _locked_task(
    session: Session, principal: Principal, task_id: int
) -> tuple[HumanTask, instances.Locked]:
    task = access.get_task(session, principal, task_id)
    locked = instances.lock_instance(session, task.instance_id)
    session.refresh(task)
    return task, locked


def _closed(session: Session, task: HumanTask) -> Conflict:
    if task.state == "completed":
        return TaskAlreadyCompleted(
            t(
                "「%(name)s」已由%(who)s办结：不能再退回",
                name=task.name,
                who=people.label(session, task.completed_by),
            )
        )
    return Conflict(t("「%(name)s」已取消（流程已走向别处）", name=task.name))


def _gone(task: HumanTask) -> str:
    return t("「%(name)s」已被退回或撤回，重新打开的步骤另有记录", name=task.name)


def _run_of(session: Session, instance_id: int, clock: Clock) -> engine.Run | None:
    """A running instance's engine state, for a read that needs its task tree (one restore;
    nothing is evaluated, so no functions are bound)."""
    row = session.execute(
        select(Instance.status, Instance.state, ProcessVersion.id, ProcessVersion.content_hash)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
        .where(Instance.id == instance_id)
    ).one()
    if row.status != "running":
        return None
    loaded = versions.load(session, row.id, row.content_hash)
    return engine.restore(loaded.compiled, row.state, clock=clock, functions={})


def _targets(session: Session, run: engine.Run, task: HumanTask) -> list[Target]:
    targets: list[Target] = []
    seen: set[str] = set()
    for passed in run.path_to(task.spiff_task_id):
        if passed.element in seen:
            continue  # a loop: the nearest pass is the one to go back to
        row_id = _latest_completion(session, task.instance_id, passed.id)
        if row_id is None:
            continue
        row = session.get(HumanTask, row_id)
        assert row is not None
        seen.add(passed.element)
        targets.append(
            Target(
                step=passed.element,
                name=row.name,
                task_id=row.id,
                completed_by=row.completed_by,
                completed_by_name=people.label(session, row.completed_by),
                completed_at=row.completed_at,
                refusal=_refusal(session, run, row),
            )
        )
    return targets


def _refusal(session: Session, run: engine.Run, target: HumanTask) -> str | None:
    """The point of no return between `target` and now, if there is one."""
    undone = [target.id] + [
        row
        for f in run.followers(target.spiff_task_id)
        if f.completed
        for row in [_latest_completion(session, target.instance_id, f.id)]
        if row is not None
    ]
    for effect in effects.of_steps(session, undone):
        if _serves(effect):
            case = session.get(CaseFile, effect.record_id)
            served = case.received_on if case is not None else None
            return t(
                "决定已于 %(served)s 送达：不能退回到「%(name)s」；变更已送达的决定须经申诉（§2.3）",
                served=served,
                name=target.name,
            )
        if effect.change == effects.INFORMED or (
            effect.change == effects.INSERT and effect.record_table in _OTHER_CASES
        ):
            return t(
                "「%(step)s」已启动或通知了另一案件：不能退回到「%(name)s」",
                step=_name_of_row(session, effect.task_id),
                name=target.name,
            )
    return None


def _serves(effect: effects.Effect) -> bool:
    """The step served a decision: it set the case's date of service (送达)."""
    return (
        effect.change == effects.UPDATE
        and effect.record_table == "case_file"
        and "received_on" in effect.before
        and effect.before["received_on"] is None
    )


def _taken_up(
    session: Session, instance_id: int, followers: Sequence[engine.PassedStep]
) -> str | None:
    rows = [
        row
        for f in followers
        if not f.completed
        for row in session.execute(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.spiff_task_id == f.id,
                HumanTask.state == "open",
            )
        ).scalars()
    ]
    if not rows:
        return None
    ids = [row.id for row in rows]
    drafted = set(
        session.execute(select(TaskDraft.task_id).where(TaskDraft.task_id.in_(ids))).scalars()
    )
    taken = {
        int(object_id)
        for object_id in session.execute(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "task",
                AuditEvent.object_id.in_([str(i) for i in ids]),
                AuditEvent.action.in_(_TAKEN_UP),
            )
        ).scalars()
    }
    asked = set(consultations.open_on(session, task_ids=ids))
    for row in rows:
        if row.id in asked:
            return t("后续步骤「%(name)s」正在征求意见：不能撤回", name=row.name)
        if row.id in drafted:
            return t("后续步骤「%(name)s」已有人保存草稿：不能撤回", name=row.name)
        if row.id in taken:
            return t(
                "后续步骤「%(name)s」已由 %(assignee)s 认领：不能撤回",
                name=row.name,
                assignee=row.assignee or "他人",
            )
    return None


def _latest_completion(session: Session, instance_id: int, spiff_task_id: str) -> int | None:
    return session.execute(
        select(HumanTask.id)
        .where(
            HumanTask.instance_id == instance_id,
            HumanTask.spiff_task_id == spiff_task_id,
            HumanTask.state == "completed",
        )
        .order_by(HumanTask.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _latest_row(session: Session, instance_id: int, spiff_task_id: str) -> int | None:
    """The step's latest row: a completion withdrawn or returned to has a newer one."""
    return session.execute(
        select(HumanTask.id)
        .where(HumanTask.instance_id == instance_id, HumanTask.spiff_task_id == spiff_task_id)
        .order_by(HumanTask.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _name_of(session: Session, instance_id: int, spiff_task_id: str) -> str:
    name = session.execute(
        select(HumanTask.name)
        .where(HumanTask.instance_id == instance_id, HumanTask.spiff_task_id == spiff_task_id)
        .order_by(HumanTask.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return name or spiff_task_id


def _name_of_row(session: Session, task_id: int) -> str:
    row = session.get(HumanTask, task_id)
    return row.name if row is not None else str(task_id)


def _open_ids(session: Session, instance_id: int) -> set[int]:
    session.flush()
    return set(
        session.execute(
            select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open"
            )
        ).scalars()
    )


def _may_hold(session: Session, username: str, task: HumanTask) -> bool:
    try:
        holder = access.principal_for(session, username=username)
        access.check_may_complete(session, holder, task, ignore_assignment=True)
    except (NotFound, Forbidden):
        return False
    return True


def _entered(session: Session, task_id: int) -> dict[str, Any] | None:
    """What was submitted when the step was completed (its audit row keeps the form's data)."""
    row = session.execute(
        select(AuditEvent.detail)
        .where(
            AuditEvent.object_type == "task",
            AuditEvent.object_id == str(task_id),
            AuditEvent.action == "task.complete",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    detail = json.loads(row) if isinstance(row, str) else row
    data = detail.get("data") if isinstance(detail, dict) else None
    return data if isinstance(data, dict) else None


def _tell(
    session: Session,
    principal: Principal,
    kind: str,
    reopened: HumanTask,
    reason: str,
    clock: Clock,
) -> None:
    if kind != RETURN or reopened.assignee is None or reopened.assignee == principal.username:
        return
    case = session.execute(
        select(CaseFile).where(CaseFile.instance_id == reopened.instance_id)
    ).scalar_one_or_none()
    where = f"（{case.number}）" if case else ""
    notifications.notify(
        session,
        username=reopened.assignee,
        kind="returned",
        title=f"退回：{reopened.name}{where}",
        body=(
            f"{people.label(session, principal.username)}将「{reopened.name}」退回给你重新办理。"
            f"理由：{reason}"
        ),
        task_id=reopened.id,
        case_id=case.id if case else None,
        clock=clock,
    )

"""What administrators and designers do about an incident: retry it now, or cancel it.

- **retry** (重试) fires the instance's due timers at once, in the caller's transaction: if
  they fire, the incident is resolved; if they fail again, the attempt is counted on it
  (with the next automatic retry per the backoff, while attempts remain).
- **cancel** (取消) withdraws the instance's due timers from the process through the locked
  path, so they never fire (a deadline is dropped, a reminder cycle ends, an intermediate
  wait ends its branch), and closes the incident.

Both lock the instance first, so neither races a sweep firing the same instance, and both
are audited (`incident.retry`, `incident.cancel`, `timer.cancel`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import Principal
from workflows.engine import audit, instances, timers
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.incidents import service
from workflows.engine.incidents.models import OPEN, Incident
from workflows.engine.models import Timer
from workflows.errors import Conflict
from workflows.incidents import views
from workflows.messages import t


@dataclass(frozen=True)
class Retried:
    """The outcome of a retry: resolved, or failed again (the incident counts the attempt)."""

    resolved: bool
    fired: int
    message: str | None = None


def _locked_open(
    session: Session, *, principal: Principal, incident_id: int
) -> tuple[Incident, instances.Locked]:
    """The incident, visible to the principal and still open, and its instance, locked."""
    incident = views.visible(session, principal=principal, incident_id=incident_id)
    locked = instances.lock_instance(session, incident.instance_id)
    session.refresh(incident)  # as it is now that the instance is ours
    if incident.status != OPEN:
        raise Conflict(
            t(
                "故障 %(incident_id)s 已%(status)s，不能再重试或取消",
                incident_id=incident_id,
                status=views.STATUS_NAMES.get(incident.status, incident.status),
            )
        )
    return incident, locked


def retry(session: Session, *, principal: Principal, incident_id: int, clock: Clock) -> Retried:
    """Fires the instance's due timers now; resolves the incident or counts the failed attempt.
    Audited; flushes (the caller commits either way: a failed retry is recorded too)."""
    incident, _locked = _locked_open(session, principal=principal, incident_id=incident_id)
    iid = incident.instance_id
    with session.begin_nested():  # appended on release: a failed attempt below cannot undo it
        audit.record(
            session,
            at=clock.now(),
            actor=principal.username,
            action="incident.retry",
            object_type="incident",
            object_id=incident.id,
            instance_id=iid,
            detail={"attempts": incident.attempts, "element": incident.element},
        )
    point = audit.mark(session)
    try:
        with session.begin_nested():
            fired = timers.fire(session, instance_id=iid, clock=clock, actor=principal.username)
            service.resolve(session, instance_id=iid, clock=clock, actor=principal.username)
    except Exception as err:  # noqa: BLE001 - a failed retry is an outcome, recorded on the incident
        audit.discard_since(session, point)
        element, message = timers.describe_failure(err)
        with session.begin_nested():
            service.record_failure(
                session,
                instance_id=iid,
                element=element,
                message=message,
                clock=clock,
                actor=principal.username,
                detail={"retried_by": principal.username},
            )
        return Retried(resolved=False, fired=0, message=message)
    return Retried(resolved=True, fired=fired)


def cancel(
    session: Session,
    *,
    principal: Principal,
    incident_id: int,
    clock: Clock,
    reason: str | None = None,
) -> list[str]:
    """Withdraws the instance's due timers (through `instances.advance`) and closes the
    incident as cancelled; audited; flushes. Returns the elements withdrawn."""
    incident, locked = _locked_open(session, principal=principal, incident_id=incident_id)
    iid = incident.instance_id
    due = session.execute(
        select(Timer.spiff_task_id, Timer.task_spec)
        .where(Timer.instance_id == iid, Timer.fire_at <= clock.now())
        .order_by(Timer.fire_at, Timer.id)
    ).all()
    withdrawn: list[str] = []
    if due:

        def apply(run: engine.Run) -> None:
            withdrawn.extend(run.cancel_timers([row.spiff_task_id for row in due]))

        instances.advance(
            session,
            instance=locked,
            clock=clock,
            step=instances.Step(
                action="timer.cancel",
                actor=principal.username,
                apply=apply,
                detail={
                    "incident": incident.id,
                    "timers": [row.task_spec for row in due],
                    "reason": reason or "",
                },
            ),
        )
    service.close_cancelled(
        session,
        instance_id=iid,
        clock=clock,
        actor=principal.username,
        detail={"withdrawn": withdrawn, "reason": reason or ""},
    )
    return withdrawn

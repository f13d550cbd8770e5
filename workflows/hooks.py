"""Domain actions bound to process elements by an `action` extension property.

A user task's action runs when the task is completed, before the engine moves on,
inside the same locked transaction: it checks the domain's rules (refusing with a
DomainError, which rolls everything back) and writes the domain's records. It may add
computed values to the data the task completes with. An engine-run element (a script
task — its script may be just a comment — or an intermediate event) with an action runs
it right after the step that reached it (a plain bpmn:task waits for a person) —
the way timers and gateways change domain records (e.g. a decision becoming final).

Domain packages register their actions at import (`workflows.cases` imports them
all; `workflows.tasks.notifications` adds a completion listener); deployment refuses
an `action` nobody registered.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from .clock import Clock

if TYPE_CHECKING:
    from .projections import Batch


@dataclass
class ActionContext:
    session: Session
    clock: Clock
    actor: str
    instance_id: int
    element: str
    data: dict[str, Any]  # task data (user task: with the submitted form merged in)
    task_id: int | None = None  # the human task, for user-task actions
    properties: dict[str, str] = field(default_factory=dict)
    #: The step's own writes, sent with its state (PostgreSQL: in the same statement), for
    #: a write that needs no answer; None where the step has no such batch.
    writes: Batch | None = None


Action = Callable[[ActionContext], None]

ON_COMPLETE: dict[str, Action] = {}
AUTOMATIC: dict[str, Action] = {}
#: Called after every user-task completion (e.g. to record who handled a case).
AFTER_ANY_COMPLETION: list[Action] = []
@dataclass(frozen=True)
class AuditedRecord:
    """Records written with an audit row `action` whose object id is the record's id:
    `query` selects the id first, `describe` names a record from its row."""

    action: str
    query: Any
    describe: Callable[[Any], str]


#: `audit.verify` reports a record without its row.
AUDITED_RECORDS: list[AuditedRecord] = []
#: Process data keys no form may set (a case's identity); domain packages add theirs.
PROTECTED_KEYS: set[str] = set()


def on_complete(name: str) -> Callable[[Action], Action]:
    """Registers the action a user task with `action=name` runs when completed."""
    def register(fn: Action) -> Action:
        ON_COMPLETE[name] = fn
        return fn
    return register


def automatic(name: str) -> Callable[[Action], Action]:
    """Registers the action an engine-run element with `action=name` runs when reached."""
    def register(fn: Action) -> Action:
        AUTOMATIC[name] = fn
        return fn
    return register


def audited_record(action: str, query: Any, describe: Callable[[Any], str]) -> None:
    """Declares that every record `query` selects has an audit row `action` (see AuditedRecord)."""
    AUDITED_RECORDS.append(AuditedRecord(action, query, describe))


def audited_records() -> list[AuditedRecord]:
    _load_domain()
    return AUDITED_RECORDS


def known() -> set[str]:
    _load_domain()
    return set(ON_COMPLETE) | set(AUTOMATIC)


def completion_action(name: str) -> Action:
    """The registered action of a user task (the domain is loaded on first use)."""
    _load_domain()
    return ON_COMPLETE[name]


def automatic_action(name: str) -> Action:
    """The registered action of an engine-run element."""
    _load_domain()
    return AUTOMATIC[name]


def after_completion() -> list[Action]:
    _load_domain()
    return AFTER_ANY_COMPLETION


_loaded = False


def _load_domain() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        import workflows.cases  # registers the case actions
        import workflows.tasks.drafts  # a completed task's draft goes
        import workflows.tasks.notifications  # noqa: F401 - tells the cadre of decisions

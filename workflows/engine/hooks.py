"""Domain actions bound to process elements by an `action` extension property.

A user task's action runs when the task is completed, before the engine moves on,
inside the same locked transaction: it checks the domain's rules (refusing with a
DomainError, which rolls everything back) and writes the domain's records. It may add
computed values to the data the task completes with. An engine-run element (a script
task — its script may be just a comment — or an intermediate event) with an action runs
it right after the step that reached it (a plain bpmn:task waits for a person) —
the way timers and gateways change domain records (e.g. a decision becoming final).

The decorators here only mark functions. Each domain package's `register(registry)` adds
its marked actions and listeners, the data keys no form may set, its audit completeness
rules and its periodic jobs; `workflows.runtime.Runtime` calls them once, so the engine
never imports the domain. Deployment refuses an `action` nobody registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from workflows.engine.clock import Clock

if TYPE_CHECKING:
    from workflows.engine.prepared import Prepared, Rows
    from workflows.engine.projections import Batch


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
    #: A completion's `Registry.reads_with_lock`, read right after the instance lock, by name.
    locked_reads: dict[str, Rows] = field(default_factory=dict)


Action = Callable[[ActionContext], None]


@dataclass(frozen=True)
class CancelledSteps:
    """Open user tasks a step took away (a 退回, a terminate end, a gateway or a migration that
    went elsewhere), told to `after_cancelling` listeners before the step is written: their
    `human_task` rows are still open, found by instance and engine task id."""

    session: Session
    clock: Clock
    actor: str
    instance_id: int
    spiff_task_ids: tuple[str, ...]
    why: str | None  # the step's own words for it (e.g. 退回), None: the process went elsewhere


CancelListener = Callable[[CancelledSteps], None]
#: A periodic job the scheduler runs beside the timer sweep: (database, clock) → rows changed.
Job = Callable[..., int]


@dataclass(frozen=True)
class AuditedRecord:
    """Records written with an audit row `action` whose object id is the record's id:
    `query` selects the id first, `describe` names a record from its row."""

    action: str
    query: Any
    describe: Callable[[Any], str]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Job
    min_interval: float  # seconds; the scheduler never runs it more often


_TAG = "__cadreflow_hook__"


def on_complete(name: str) -> Callable[[Action], Action]:
    """Marks the action a user task with `action=name` runs when completed."""

    def mark(fn: Action) -> Action:
        setattr(fn, _TAG, ("complete", name))
        return fn

    return mark


def automatic(name: str) -> Callable[[Action], Action]:
    """Marks the action an engine-run element with `action=name` runs when reached."""

    def mark(fn: Action) -> Action:
        setattr(fn, _TAG, ("automatic", name))
        return fn

    return mark


def after_any_completion(fn: Action) -> Action:
    """Marks a listener called after every user-task completion."""
    setattr(fn, _TAG, ("after", fn.__qualname__))
    return fn


def after_cancelling(fn: CancelListener) -> CancelListener:
    """Marks a listener called when a step cancels open user tasks."""
    setattr(fn, _TAG, ("cancelled", fn.__qualname__))
    return fn


@dataclass
class Registry:
    """What the domain plugs into the engine. The engine reads `REGISTRY`; the domain fills
    it by one explicit call (`workflows.runtime.register_domain`), never by import."""

    on_complete: dict[str, Action] = field(default_factory=dict)
    automatic: dict[str, Action] = field(default_factory=dict)
    after_completion: list[Action] = field(default_factory=list)
    after_cancelling: list[CancelListener] = field(default_factory=list)
    #: Process data keys no form may set (a case's identity).
    protected_keys: set[str] = field(default_factory=set)
    #: `audit.verify` reports a record without its row.
    audited_records: list[AuditedRecord] = field(default_factory=list)
    periodic: list[PeriodicJob] = field(default_factory=list)
    #: Tables of domain records whose rows a completed step adds or changes are kept as its
    #: effects (`workflows.engine.effects`), for 退回/撤回 to supersede or restore.
    recorded_tables: set[str] = field(default_factory=set)
    #: What every completion reads of the task under the instance lock, by name: statements
    #: taking the task's id as `tid`, run with the lock (PostgreSQL: in the same round trip)
    #: and handed to the listeners as `ActionContext.locked_reads`.
    reads_with_lock: dict[str, Prepared] = field(default_factory=dict)
    filled_by: set[str] = field(default_factory=set)

    def add_module(self, module: Any) -> None:
        """Adds every function of `module` marked by `on_complete`, `automatic`,
        `after_any_completion` or `after_cancelling` (once per module, however often it is
        called)."""
        if module.__name__ in self.filled_by:
            return
        self.filled_by.add(module.__name__)
        for value in vars(module).values():
            kind_name = getattr(value, _TAG, None)
            if kind_name is None or getattr(value, "__module__", None) != module.__name__:
                continue
            kind, name = kind_name
            if kind == "complete":
                self.on_complete[name] = value
            elif kind == "automatic":
                self.automatic[name] = value
            elif kind == "cancelled":
                if value not in self.after_cancelling:
                    self.after_cancelling.append(value)
            elif value not in self.after_completion:
                self.after_completion.append(value)

    def protect(self, *keys: str) -> None:
        self.protected_keys.update(keys)

    def audited_record(self, action: str, query: Any, describe: Callable[[Any], str]) -> None:
        """Declares that every record `query` selects has an audit row `action`."""
        if all(record.action != action for record in self.audited_records):
            self.audited_records.append(AuditedRecord(action, query, describe))

    def read_with_lock(self, statement: Prepared) -> None:
        """A read every completion makes with the instance lock (see `reads_with_lock`),
        named by the statement's registered name."""
        self.reads_with_lock.setdefault(statement.name, statement)

    def every(self, name: str, run: Job, *, min_interval: float) -> None:
        """A periodic job for the scheduler."""
        if all(job.name != name for job in self.periodic):
            self.periodic.append(PeriodicJob(name, run, min_interval))

    def known(self) -> set[str]:
        return set(self.on_complete) | set(self.automatic)

    def completion_action(self, name: str) -> Action:
        return self.on_complete[name]

    def automatic_action(self, name: str) -> Action:
        return self.automatic[name]


#: The engine's registry, filled once per process by the runtime.
REGISTRY = Registry()

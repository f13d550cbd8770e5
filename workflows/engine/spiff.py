"""The only module that imports SpiffWorkflow; everything else speaks our own terms.

An engine object is assembled from the spiff parser, a serializer registry that
stores instance state *without* the spec (the spec lives once per deployed version
and is parsed once per process), and a script engine whose every expression and
script goes through `workflows.expressions` — SpiffWorkflow's eval/exec never runs.
"""

from __future__ import annotations

import ast
import json
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflows.engine import expressions, time_limits, timer_values
from workflows.engine.clock import Clock
from workflows.errors import DomainError
from workflows.messages import t

#: Version of our instance-state JSON; bump it and add a migration in `_migrate_state`.
STATE_FORMAT = 1


class ProcessError(DomainError):
    """The engine failed while running a process element (condition, script, timer)."""

    code = "process_error"

    def __init__(self, message: str, element: str | None = None) -> None:
        super().__init__(message, element=element)
        self.element = element


class TaskNotReady(ProcessError):
    """The task is not waiting for input in this state (completed or cancelled meanwhile)."""


class StepBudgetExceeded(ProcessError):
    """One step ran longer, or through more engine tasks, than its budget allows."""

    code = "step_budget_exceeded"


# --- the step budget: no instance holds a worker or the sweep for long ------------------


@dataclass(frozen=True)
class StepLimits:
    """What one step (a start, a completion, a timer firing) may spend in the engine."""

    seconds: float = 10.0  # wall time from loading the instance
    tasks: int = 5000  # engine-run tasks (gateways, scripts, events) completed


_process_limits: list[StepLimits] = [StepLimits()]
_limits_override: ContextVar[StepLimits | None] = ContextVar("cadreflow_step_limits", default=None)


def set_step_limits(limits: StepLimits) -> None:
    """The limits of every step of this process (the runtime sets them from its settings)."""
    _process_limits[0] = limits


def step_limits() -> StepLimits:
    """The limits a step started now runs under."""
    return _limits_override.get() or _process_limits[0]


@contextmanager
def limited(limits: StepLimits) -> Iterator[None]:
    """Steps started inside the block run under `limits` (a tighter budget for one job)."""
    token = _limits_override.set(limits)
    try:
        yield
    finally:
        _limits_override.reset(token)


class _Budget:
    """Checked at every evaluated expression and every engine-run task of one step."""

    def __init__(self, limits: StepLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.tasks = 0

    def check(self, element: str | None) -> None:
        if time.monotonic() > self.deadline:
            raise StepBudgetExceeded(
                t(
                    "流程步骤超出时间预算：运行超过 %(seconds)s 秒仍未停下（停在 %(element)s）"
                    "；流程可能在无限循环，或计算量过大",
                    seconds=f"{self.limits.seconds:g}",
                    element=element,
                ),
                element=element,
            )

    def count_task(self, element: str | None) -> None:
        self.tasks += 1
        if self.tasks > self.limits.tasks:
            raise StepBudgetExceeded(
                t(
                    "流程步骤超出预算：一步之内自动执行了 %(tasks)s 个以上的环节（停在 "
                    "%(element)s）；流程可能在无限循环",
                    tasks=self.limits.tasks,
                    element=element,
                ),
                element=element,
            )
        self.check(element)


# --- time: SpiffWorkflow's timers call datetime.now(); route that through our clock ----

_active_clock: ContextVar[Clock | None] = ContextVar("cadreflow_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _ClockedDatetime:  # type: ignore[override]
        clock = _active_clock.get()
        moment = clock.now() if clock is not None else datetime.now(UTC)
        moment = (
            moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)
        )
        return cls.combine(moment.date(), moment.timetz())


spiff_timer.datetime = _ClockedDatetime  # type: ignore[misc]


@contextmanager
def _clock_in_effect(clock: Clock) -> Iterator[None]:
    token = _active_clock.set(clock)
    try:
        yield
    finally:
        _active_clock.reset(token)


# --- expressions and scripts ------------------------------------------------------------


_TIMER_KINDS: dict[type, str] = {
    TimeDateEventDefinition: "date",
    DurationTimerEventDefinition: "duration",
    CycleTimerEventDefinition: "cycle",
}


def _timer_kind_of(task_spec: Any, expression: str) -> str | None:
    """'date', 'duration' or 'cycle' when `expression` is the task's timer expression."""
    definition = getattr(task_spec, "event_definition", None)
    candidates = (
        definition.event_definitions
        if isinstance(definition, MultipleEventDefinition)
        else [definition]
    )
    for candidate in candidates:
        if isinstance(candidate, TimerEventDefinition) and candidate.expression == expression:
            return _TIMER_KINDS.get(type(candidate))
    return None


def _now() -> datetime:
    clock = _active_clock.get()
    return clock.now() if clock is not None else datetime.now(UTC)


class _SafeScriptEngine(PythonScriptEngine):
    """Evaluates every condition, timer and DMN cell with the safe evaluator; a timer's value
    must lie within `timer_values`' bounds before SpiffWorkflow computes with it."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        super().__init__()
        self.functions = functions
        self.budget = _Budget(step_limits())

    def validate(self, expression: str) -> None:
        ast.parse(expression)  # syntax only: DMN uses SyntaxError to decide on '=='

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        self.budget.check(task.task_spec.name)  # raised as is: SpiffWorkflow re-raises it
        names = ChainMap(external_context or {}, task.data)
        try:
            value = expressions.evaluate(expression, names, self.functions)
            kind = _timer_kind_of(task.task_spec, expression)
            if kind is not None:
                timer_values.check(kind, value, now=_now(), element=task.task_spec.name)
            return value
        except DomainError as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        self.budget.check(task.task_spec.name)
        try:
            expressions.execute_script(script, task.data, self.functions)
        except DomainError as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err
        return True

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise WorkflowTaskException("service tasks are not supported", task=task)


# --- serialization without the spec ------------------------------------------------------


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Instance state without the spec: half the bytes and a faster round trip."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _SpeclessWorkflowConverter
_REGISTRY = BpmnWorkflowSerializer.configure(_config)


# --- what callers see ----------------------------------------------------------------------


@dataclass(frozen=True)
class UserTaskInfo:
    element: str
    name: str
    lane: str | None
    form: str | None
    ui_form: str | None
    documentation: str | None


@dataclass(frozen=True)
class ProcessInfo:
    process_id: str
    name: str
    user_tasks: tuple[UserTaskInfo, ...]
    has_start_timer: bool


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element: str
    name: str
    lane: str | None
    form: str | None
    due_at: datetime | None
    due_basis: str | None = None  # how the due date was computed, for people
    assignee: str | None = None  # from the task data key named by `assigneeFrom`
    #: the task's time-limit properties (see `time_limits`), and its evaluated `timeLimitFrom`
    limit: Mapping[str, str] | None = None
    limit_from: Any = None


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element: str
    kind: str  # 'boundary', 'reminder' (non-interrupting boundary), 'intermediate', 'start'
    fire_at: datetime


@dataclass(frozen=True)
class PassedStep:
    """A user task of an instance's task tree: the step it was, and whether it is done."""

    id: str
    element: str
    completed: bool


@dataclass(frozen=True)
class Snapshot:
    ready: Mapping[str, ReadyTask]
    timers: Mapping[str, WaitingTimer]


EMPTY = Snapshot({}, {})


@dataclass(frozen=True)
class Compiled:
    """A parsed process spec with the called processes it needs."""

    spec: Any
    subprocess_specs: Mapping[str, Any]


class Definitions:
    """A set of BPMN and DMN documents parsed together (for one deployment)."""

    def __init__(self) -> None:
        self._parser = SpiffBpmnParser()

    def add_bpmn(self, root: etree._Element, filename: str) -> None:
        self._parser.add_bpmn_xml(root, filename=filename)

    def add_dmn(self, root: etree._Element, filename: str) -> None:
        self._parser.add_dmn_xml(root, filename=filename)

    def process_ids(self) -> list[str]:
        return list(self._parser.get_process_ids())

    def decision_ids(self) -> list[str]:
        return list(self._parser.dmn_parsers.keys())

    def process_file(self, process_id: str) -> str:
        return self._parser.get_process_parser(process_id).filename

    def compile(self, process_id: str) -> Compiled:
        """Parse one process and its called processes; raises ProcessError naming the element."""
        try:
            spec = self._parser.get_spec(process_id)
            subprocess_specs = self._parser.get_subprocess_specs(process_id)
        except ValidationException as err:
            raise ProcessError(str(err), element=getattr(err, "id", None)) from err
        except SpiffWorkflowException as err:
            raise ProcessError(str(err)) from err
        return Compiled(spec, subprocess_specs)


def describe(compiled: Compiled) -> ProcessInfo:
    """The facts a validator and the queues need, read off a compiled spec."""
    user_tasks: list[UserTaskInfo] = []
    has_start_timer = False
    for spec in [compiled.spec, *compiled.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "manual", False):
                props = getattr(task_spec, "extensions", {}).get("properties", {})
                user_tasks.append(
                    UserTaskInfo(
                        element=task_spec.name,
                        name=task_spec.bpmn_name or task_spec.name,
                        lane=task_spec.lane,
                        form=props.get("formJsonSchemaFilename"),
                        ui_form=props.get("formUiSchemaFilename"),
                        documentation=getattr(task_spec, "documentation", None),
                    )
                )
            if (
                spec is compiled.spec
                and isinstance(task_spec, StartEvent)
                and isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
            ):
                has_start_timer = True
    return ProcessInfo(
        process_id=compiled.spec.name,
        name=compiled.spec.description or compiled.spec.name,
        user_tasks=tuple(user_tasks),
        has_start_timer=has_start_timer,
    )


def task_properties(compiled: Compiled, element: str) -> dict[str, str]:
    """The spiff extension properties of a task spec (e.g. formJsonSchemaFilename, action)."""
    for spec in [compiled.spec, *compiled.subprocess_specs.values()]:
        task_spec = spec.task_specs.get(element)
        if task_spec is not None:
            return dict(getattr(task_spec, "extensions", {}).get("properties", {}))
    return {}


def all_properties(compiled: Compiled) -> dict[str, dict[str, str]]:
    """Every task spec's extension properties, by element id (for validation)."""
    found: dict[str, dict[str, str]] = {}
    for spec in [compiled.spec, *compiled.subprocess_specs.values()]:
        for name, task_spec in spec.task_specs.items():
            props = getattr(task_spec, "extensions", {}).get("properties", {})
            if props:
                found[name] = dict(props)
    return found


@dataclass(frozen=True)
class AutomaticAction:
    """An engine-run task (script, none task, event) carrying an `action` property."""

    element: str
    action: str
    data: dict[str, Any]


def dump_spec(compiled: Compiled) -> str:
    return json.dumps(
        {
            "spec": _REGISTRY.convert(compiled.spec),
            "subprocess_specs": {
                k: _REGISTRY.convert(v) for k, v in compiled.subprocess_specs.items()
            },
        },
        separators=(",", ":"),
    )


def load_spec(spec_json: str) -> Compiled:
    dct = json.loads(spec_json)
    return Compiled(
        _REGISTRY.restore(dct["spec"]),
        {k: _REGISTRY.restore(v) for k, v in dct["subprocess_specs"].items()},
    )


class Run:
    """One instance loaded for one advance: run steps, then read its projections."""

    def __init__(self, workflow: BpmnWorkflow, clock: Clock) -> None:
        self._wf = workflow
        self._clock = clock
        self._actions: list[AutomaticAction] = []

    def _note_action(self, task: Any) -> None:
        self._wf.script_engine.budget.count_task(task.task_spec.name)
        props = getattr(task.task_spec, "extensions", {}).get("properties", {})
        if props.get("action") and not task.task_spec.manual:
            self._actions.append(AutomaticAction(task.task_spec.name, props["action"], task.data))

    def take_actions(self) -> list[AutomaticAction]:
        """Domain actions of engine-run tasks completed since the last call."""
        taken, self._actions = self._actions, []
        return taken

    def _engine_steps(self) -> None:
        self._wf.do_engine_steps(did_complete_task=self._note_action)

    # -- driving ------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], Any]) -> Any:
        with _clock_in_effect(self._clock):
            try:
                return fn()
            except WorkflowTaskException as err:
                element = err.task.task_spec.name if getattr(err, "task", None) else None
                cause = getattr(err, "exception", None) or err.__cause__
                if isinstance(cause, StepBudgetExceeded):
                    raise cause from err
                message = cause.message if isinstance(cause, DomainError) else str(err)
                raise ProcessError(message, element=element) from err
            except SpiffWorkflowException as err:
                if isinstance(
                    err.__cause__, StepBudgetExceeded
                ):  # a DMN table wraps its cells' errors
                    raise err.__cause__ from err
                raise ProcessError(str(err)) from err

    def run_engine_steps(self) -> None:
        self._guard(self._engine_steps)

    def fire_timers(self) -> None:
        def fire() -> None:
            self._check_stored_cycles()
            self._wf.refresh_timers()
            self._engine_steps()

        self._guard(fire)

    def _check_stored_cycles(self) -> None:
        """A cycle's value is evaluated once and kept in the state: one stored before the
        bounds existed (every 0 s, without end) is refused here rather than fired again."""
        for task in list(self._wf.event_manager.tasks.values()):
            if not isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                continue
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):
                timer_values.check_cycle_state(
                    cycles=int(value.get("cycles", 0)),
                    seconds=float(value.get("duration", 0)),
                    element=task.task_spec.name,
                )

    def cancel_timers(self, task_ids: Iterable[str]) -> list[str]:
        """Withdraws waiting timers (by task id) so they never fire: a boundary timer's task
        goes on without it, an intermediate timer's branch ends there. Nothing else runs.
        Returns the elements withdrawn."""
        withdrawn = []
        for task_id in task_ids:
            task = self._task(task_id)
            if task is None or task.has_state(TaskState.FINISHED_MASK):
                continue
            if not isinstance(
                getattr(task.task_spec, "event_definition", None), TimerEventDefinition
            ):
                continue
            self._guard(task.cancel)
            withdrawn.append(task.task_spec.name)
        return withdrawn

    def deliver_message(self, name: str, payload: Mapping[str, Any]) -> bool:
        """Delivers a BPMN message to this instance; False if nothing here waits for it."""
        waiting = [
            t
            for t in self._wf.event_manager.tasks.values()
            if isinstance(t.task_spec.event_definition, MessageEventDefinition)
            and t.task_spec.event_definition.name == name
        ]
        if not waiting:
            return False

        def deliver() -> None:
            self._wf.catch(BpmnEvent(waiting[0].task_spec.event_definition, dict(payload)))
            self._engine_steps()

        self._guard(deliver)
        return True

    def complete_user_task(self, task_id: str, data: Mapping[str, Any]) -> None:
        task = self._task(task_id)  # None: a going back took it away meanwhile
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(t("该任务不在等待办理"), element=None)

        def complete() -> None:
            task.data.update(data)
            task.run()
            self._engine_steps()

        self._guard(complete)

    # -- going back ---------------------------------------------------------------------
    def _task(self, task_id: str | UUID) -> Any:
        """The task of this id, or None when the tree has no such task (any more)."""
        try:
            return self._wf.get_task_from_id(
                task_id if isinstance(task_id, UUID) else UUID(task_id)
            )
        except TaskNotFoundException:
            return None

    def _parent_of(self, task: Any) -> Any:
        parent = task.parent
        if parent is None and getattr(task.workflow, "parent_task_id", None) is not None:
            parent = self._task(task.workflow.parent_task_id)
        return parent

    def path_to(self, task_id: str) -> list[PassedStep]:
        """The completed user tasks this task was reached through, nearest first: its
        ancestors in the task tree, and the steps of every parallel branch that joined on the
        way (a join continues under one branch's token; the others end at it). A step passed
        twice (a loop) is there twice."""
        chain: list[Any] = []
        start = self._task(task_id)
        task = self._parent_of(start) if start is not None else None
        while task is not None:
            chain.append(task)
            task = self._parent_of(task)
        index = {t.id: i for i, t in enumerate(chain)}
        path: list[PassedStep] = []
        for i, ancestor in enumerate(chain):
            if _is_step(ancestor):
                path.append(PassedStep(str(ancestor.id), ancestor.task_spec.name, completed=True))
            if not isinstance(ancestor.task_spec, UnstructuredJoin):
                continue
            for other in ancestor.workflow.get_tasks(spec_name=ancestor.task_spec.name):
                if other is ancestor or not other.has_state(TaskState.FINISHED_MASK):
                    continue
                branch, met = [], other.parent
                while met is not None and met.id not in index:
                    branch.append(met)
                    met = met.parent
                if met is None or index[met.id] <= i:
                    continue  # not a branch that met this join
                between = chain[i + 1 : index[met.id]]
                if any(t.task_spec is ancestor.task_spec for t in between):
                    continue  # an earlier pass through the join (a loop)
                path.extend(
                    PassedStep(str(t.id), t.task_spec.name, completed=True)
                    for t in branch
                    if _is_step(t)
                )
        return path

    def is_completed_step(self, task_id: str) -> bool:
        """Whether this user task is in the tree and completed (a going back before it may
        have taken it away, or opened it again)."""
        task = self._task(task_id)
        return task is not None and _is_step(task)

    def _partners(self, task: Any) -> list[Any]:
        """The joins that went on for the parallel branch through `task`: where its branch
        arrived first, another branch's arrival fired the join and its own ended there."""
        partners = []
        for reached in task:
            if not (
                isinstance(reached.task_spec, UnstructuredJoin)
                and reached.state == TaskState.CANCELLED
            ):
                continue
            fired = [
                t
                for t in reached.workflow.get_tasks(spec_name=reached.task_spec.name)
                if t.state == TaskState.COMPLETED
                and not t.is_descendant_of(task)
                and not task.is_descendant_of(t)
            ]
            if fired:
                partners.append(max(fired, key=lambda t: t.last_state_change))
        return partners

    def followers(self, task_id: str) -> list[PassedStep]:
        """The user tasks that followed this one, ready or completed: its descendants, and
        after a join it reached, what followed the join. Going back to it undoes them."""
        task = self._task(task_id)
        if task is None:
            return []
        found: list[PassedStep] = []
        pending = [*task.children]
        for partner in self._partners(task):
            pending.extend(partner.children)
        while pending:
            child = pending.pop()
            pending.extend(child.children)
            if child.id in self._wf.subprocesses:
                pending.append(self._wf.subprocesses[child.id].task_tree)
            if child.task_spec.manual and child.state in (TaskState.READY, TaskState.COMPLETED):
                found.append(
                    PassedStep(
                        str(child.id), child.task_spec.name, child.state == TaskState.COMPLETED
                    )
                )
        return found

    def reset_to(self, task_id: str) -> None:
        """Moves the token back: the completed user task waits again with the data it had
        before it was completed, and everything that followed it is gone — after a join
        it reached too, whose other branches then wait there for it again."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.COMPLETED or not task.task_spec.manual:
            raise TaskNotReady(t("该步骤不是本流程实例中已办结的人工步骤"))
        partners = self._partners(task)

        def reset() -> None:
            self._wf.reset_from_task_id(task.id)
            for partner in partners:
                if self._task(partner.id) is not None:
                    self._wf.reset_from_task_id(partner.id)
            self._forget_dropped_events()
            self._engine_steps()

        self._guard(reset)

    def migration_plan(self, new: Compiled) -> MigrationPlan:
        """Whether this instance can move to `new`: only when every change is downstream of
        where it stands (no passed step removed or changed, no waiting step removed or
        changed beyond where it leads)."""
        reasons: list[str] = []
        for workflow, diff in self._spec_diffs(new):
            if diff is None:
                reasons.append(
                    t("调用的子流程“%(name)s”在新版本中已不存在", name=workflow.spec.name)
                )
                continue
            for task in workflow.get_tasks(skip_subprocesses=True):
                reason = _migration_refusal(task, diff)
                if reason is not None and reason not in reasons:
                    reasons.append(reason)
        return MigrationPlan(not reasons, reasons)

    def migrate_to(self, new: Compiled) -> None:
        """Moves this instance onto the spec `new` (SpiffWorkflow's `migrate_workflow`):
        waiting steps keep their ids and data, timers keep their fire times, what lies
        ahead is predicted again from the new spec. Refused with the plan's reasons."""
        plan = self.migration_plan(new)
        if not plan.can:
            raise MigrationRefused("；".join(plan.reasons))
        diffs = self._spec_diffs(new)
        waiting = {
            task.id: dict(task.internal_data)
            for workflow, _diff in diffs
            for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True)
        }

        def move() -> None:
            for workflow, diff in diffs:
                assert diff is not None  # the plan refused a missing one
                spec = new.spec if workflow is self._wf else new.subprocess_specs[diff.name]
                migrate_workflow(WorkflowDiff(workflow, diff.spec_diff), workflow, spec)
            self._wf.subprocess_specs = dict(new.subprocess_specs)
            for workflow, _diff in diffs:
                for task in workflow.tasks.values():
                    kept = waiting.get(task.id)
                    if kept is not None and task.state == TaskState.WAITING:
                        task.internal_data.update(kept)  # a timer keeps its fire time
            self._forget_dropped_events()
            self._engine_steps()

        self._guard(move)

    def adopt(self, other: Run) -> None:
        """Takes over `other`'s workflow (a revert puts a saved state back in place)."""
        self._wf = other._wf

    def _spec_diffs(self, new: Compiled) -> list[tuple[Any, _NamedDiff | None]]:
        found: list[tuple[Any, _NamedDiff | None]] = [
            (self._wf, _NamedDiff(new.spec.name, SpecDiff(_REGISTRY, self._wf.spec, new.spec)))
        ]
        for sub in self._wf.subprocesses.values():
            name = sub.spec.name
            target = new.subprocess_specs.get(name)
            found.append(
                (sub, _NamedDiff(name, SpecDiff(_REGISTRY, sub.spec, target)) if target else None)
            )
        return found

    def _forget_dropped_events(self) -> None:
        """A reset drops tasks from the tree (a timer waiting on a subprocess it undid among
        them) but SpiffWorkflow's event manager keeps them: forget those, as a restore of
        the saved state would."""
        manager = self._wf.event_manager
        live = [self._wf, *self._wf.subprocesses.values()]
        for waiting in list(manager.tasks.values()):
            workflow = waiting.workflow
            if (
                not any(workflow is w for w in live)
                or workflow.tasks.get(waiting.id) is not waiting
            ):
                manager.remove_task(waiting)

    # -- reading ------------------------------------------------------------------------
    @property
    def completed(self) -> bool:
        return bool(self._wf.is_completed())

    @property
    def data(self) -> dict[str, Any]:
        return dict(self._wf.data)

    def task_data(self, task_id: str) -> dict[str, Any]:
        task = self._task(task_id)
        return dict(task.data) if task is not None else {}

    def snapshot(self, *, details: bool = True) -> Snapshot:
        """The projections of this state: waiting user tasks and timers, by task id.

        Without `details` a ready task carries only what tells one snapshot from another
        (id and due time): no deadline basis is evaluated, no assignee read."""
        timers = {t.task_id: t for t in self.waiting_timers()}
        ready = {}
        for task in self._ready_manual_tasks():
            props = getattr(task.task_spec, "extensions", {}).get("properties", {})
            basis = props.get("deadlineBasis") if details else None
            assignee = (
                task.data.get(props["assigneeFrom"])
                if details and props.get("assigneeFrom")
                else None
            )
            due_at = (
                self._guard(partial(self._due_moment, task, props["dueAt"]))
                if props.get("dueAt")
                else _deadline_of(task, timers)
            )
            limit = {k: props[k] for k in time_limits.PROPERTIES if props.get(k)} or None
            since = props.get(time_limits.FROM) if details else None
            ready[str(task.id)] = ReadyTask(
                id=str(task.id),
                element=task.task_spec.name,
                name=task.task_spec.bpmn_name or task.task_spec.name,
                lane=task.task_spec.lane,
                form=props.get("formJsonSchemaFilename"),
                due_at=due_at,
                due_basis=self._guard(partial(self._text_of, task, basis)) if basis else None,
                assignee=str(assignee) if assignee else None,
                limit=limit,
                limit_from=self._guard(partial(self._value_of, task, since)) if since else None,
            )
        return Snapshot(ready, timers)

    def _ready_manual_tasks(self) -> Iterator[Any]:
        # A flat scan of the task maps: SpiffWorkflow's tree iterator costs several times more.
        workflows = [self._wf, *self._wf.subprocesses.values()]
        for workflow in workflows:
            for task in workflow.tasks.values():
                if task.state == TaskState.READY and task.task_spec.manual:
                    yield task

    def _due_moment(self, task: Any, expression: str) -> datetime:
        return _moment(self._wf.script_engine.evaluate(task, expression), self._clock)

    def _text_of(self, task: Any, expression: str) -> str:
        return str(self._wf.script_engine.evaluate(task, expression))

    def _value_of(self, task: Any, expression: str) -> Any:
        return self._wf.script_engine.evaluate(task, expression)

    def ready_user_tasks(self) -> list[ReadyTask]:
        return list(self.snapshot().ready.values())

    def waiting_timers(self) -> list[WaitingTimer]:
        timers = []
        for task in list(self._wf.event_manager.tasks.values()):
            definition = task.task_spec.event_definition
            if not isinstance(definition, TimerEventDefinition):
                continue
            fire_at = _fire_time(task, definition)
            if fire_at is None:
                continue
            timers.append(
                WaitingTimer(
                    task_id=str(task.id),
                    element=task.task_spec.name,
                    kind=_timer_kind(task.task_spec),
                    fire_at=fire_at,
                )
            )
        return timers

    def dump(self) -> str:
        dct = _REGISTRY.convert(self._wf)
        dct["format"] = STATE_FORMAT
        return json.dumps(dct, separators=(",", ":"))


class MigrationRefused(ProcessError):
    """The instance cannot move to the other version (the reasons are in the message)."""

    code = "migration_refused"


@dataclass(frozen=True)
class MigrationPlan:
    """Whether an instance can move to another version, and if not, why (in Chinese)."""

    can: bool
    reasons: list[str]


@dataclass(frozen=True)
class _NamedDiff:
    name: str
    spec_diff: Any


#: A waiting step may lead elsewhere in the new version (what follows is predicted again).
_WAITING_MAY_CHANGE = frozenset({"inputs", "outputs"})
#: What changed in a step, said the way a designer sees it.
_CHANGE_NAMES = {
    "typename": "元素类型",
    "name": "元素标识",
    "bpmn_id": "元素标识",
    "bpmn_name": "名称",
    "lane": "泳道",
    "inputs": "前序连线",
    "outputs": "后续连线",
    "extensions": "扩展属性（表单、时限、办理人等）",
    "cond_task_specs": "网关条件",
    "default_task_spec": "默认连线",
    "event_definition": "事件定义",
    "script": "脚本",
    "documentation": "说明",
}


def _changes(keys: Iterable[str]) -> str:
    return "、".join(dict.fromkeys(_CHANGE_NAMES.get(key, key) for key in sorted(keys)))


def _label(task: Any) -> str:
    """A step as a designer knows it; SpiffWorkflow's own specs (around boundary events, the
    start and the end) are named after the element they belong to."""
    spec = task.task_spec
    if not _spiff_internal(spec.name):
        return f"“{getattr(spec, 'bpmn_name', None) or spec.name}”（{spec.name}）"
    owner = spec.name.partition(".")[0]
    found = task.workflow.spec.task_specs.get(owner)
    shown = (getattr(found, "bpmn_name", None) or owner) if found is not None else owner
    return f"“{shown}”（{owner}）的边界事件或汇合" if owner != spec.name else f"（{spec.name}）"


def _migration_refusal(task: Any, diff: _NamedDiff) -> str | None:
    """Why `task` keeps its instance from moving, or None: a passed step must be the same in
    the new version; a waiting step must exist and differ at most in its flows."""
    spec = task.task_spec
    passed = task.has_state(TaskState.FINISHED_MASK)
    waiting = task.has_state(TaskState.READY | TaskState.STARTED | TaskState.WAITING)
    if not (passed or waiting):
        return None
    label = _label(task)
    if diff.spec_diff.alignment.get(spec) is None:
        if passed:
            return t("已经过的步骤%(label)s在新版本中已删除", label=label)
        return t("实例正停在步骤%(label)s，新版本已删除该步骤", label=label)
    changes = set(diff.spec_diff.changed.get(spec, ()))
    if passed and changes:
        return t(
            "已经过的步骤%(label)s在新版本中有改动（%(changes)s）",
            label=label,
            changes=_changes(changes),
        )
    if waiting and changes - _WAITING_MAY_CHANGE:
        changed = _changes(changes - _WAITING_MAY_CHANGE)
        return t(
            "实例正停在步骤%(label)s，新版本修改了该步骤（%(changed)s）",
            label=label,
            changed=changed,
        )
    return None


def _is_step(task: Any) -> bool:
    return bool(task.task_spec.manual) and task.state == TaskState.COMPLETED


def _fire_time(task: Any, definition: TimerEventDefinition) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(definition, CycleTimerEventDefinition):
        if value.get("cycles", 0) == 0:
            return None
        moment = datetime.fromisoformat(value["next"])
    elif isinstance(value, str) and value.upper().startswith("P"):
        return None  # not yet started; SpiffWorkflow resolves it on its next update
    else:
        moment = TimerEventDefinition.get_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def _timer_kind(task_spec: Any) -> str:
    if isinstance(task_spec, BoundaryEvent):
        return "boundary" if task_spec.cancel_activity else "reminder"
    if isinstance(task_spec, StartEvent):
        return "start"
    return "intermediate"


def _moment(value: Any, clock: Clock) -> datetime:
    """A `dueAt` result: an ISO date-time, or a date meaning the end of that local day."""
    text = str(value)
    moment = datetime.fromisoformat(text)
    if len(text) <= 10:  # a date: due when the day is over
        moment = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), clock.tz)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.tz)
    return moment.astimezone(UTC)


def _deadline_of(task: Any, timers: Mapping[str, WaitingTimer]) -> datetime | None:
    """A user task's due time: its earliest interrupting boundary timer, else that of the
    (embedded or called) subprocess it runs in, outwards."""
    while task is not None:
        parent = task.parent
        due = [
            timers[str(sibling.id)].fire_at
            for sibling in (parent.children if parent is not None else [])
            if str(sibling.id) in timers and timers[str(sibling.id)].kind == "boundary"
        ]
        if due:
            return min(due)
        outer_id = getattr(task.workflow, "parent_task_id", None)
        task = task.workflow.top_workflow.get_task_from_id(outer_id) if outer_id else None
    return None


def _migrate_state(dct: dict[str, Any]) -> dict[str, Any]:
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ProcessError(
            t(
                "不支持流程实例状态格式 %(found)r（应为 %(expected)s）",
                found=fmt,
                expected=STATE_FORMAT,
            )
        )
    return dct


def start(
    compiled: Compiled,
    data: Mapping[str, Any],
    *,
    clock: Clock,
    functions: Mapping[str, Callable[..., Any]],
) -> Run:
    """A new instance with `data`, run up to its first wait."""
    workflow = BpmnWorkflow(
        compiled.spec, dict(compiled.subprocess_specs), script_engine=_SafeScriptEngine(functions)
    )
    workflow.task_tree.data.update(data)
    start_tasks = workflow.get_tasks(state=TaskState.READY)
    for task in start_tasks:
        task.data.update(data)
    run = Run(workflow, clock)
    run.run_engine_steps()
    return run


def restore(
    compiled: Compiled,
    state_json: str,
    *,
    clock: Clock,
    functions: Mapping[str, Callable[..., Any]],
) -> Run:
    dct = _migrate_state(json.loads(state_json))
    workflow = _REGISTRY.restore(
        dct, spec=compiled.spec, subprocess_specs=dict(compiled.subprocess_specs)
    )
    workflow.script_engine = _SafeScriptEngine(functions)
    return Run(workflow, clock)


@dataclass(frozen=True)
class StateView:
    """What a page shows of a stored state without restoring the workflow: the elements
    passed (for highlighting the diagram), those active now, and the data of asked tasks."""

    completed: tuple[str, ...]
    active: tuple[str, ...]
    task_data: dict[str, dict[str, Any]]


def _spiff_internal(name: str) -> bool:
    # SpiffWorkflow adds Start/End and joins around boundary events; the diagram has none.
    return name in {"Start", "End"} or "." in name


def view_state(state_json: str, *, data_of: Iterable[str] = ()) -> StateView:
    """Reads a stored state as plain JSON (no workflow is restored); `data_of` names the
    tasks whose data to rebuild from the serializer's per-task deltas."""
    dct = _migrate_state(json.loads(state_json))
    completed: dict[str, None] = {}
    active: dict[str, None] = {}
    wanted = set(data_of)
    data: dict[str, dict[str, Any]] = {}
    for workflow in [dct, *dct.get("subprocesses", {}).values()]:
        tasks = workflow.get("tasks", {})
        for task_id, task in tasks.items():
            name, state = task.get("task_spec", ""), task.get("state")
            if task_id in wanted:
                data[task_id] = _rebuild_data(tasks, task_id)
            if _spiff_internal(name):
                continue
            if state == TaskState.COMPLETED:
                completed[name] = None
            elif state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                active[name] = None
    return StateView(tuple(completed), tuple(active), data)


def _rebuild_data(tasks: dict[str, Any], task_id: str) -> dict[str, Any]:
    chain = []
    current: str | None = task_id
    while current is not None and current in tasks:
        chain.append(tasks[current])
        current = tasks[current].get("parent")
    data: dict[str, Any] = {}
    for task in reversed(chain):
        delta = task.get("delta")
        if task.get("parent") is None or not delta:
            data = (
                dict(_REGISTRY.restore(task.get("data") or {}))
                if task.get("parent") is None
                else data
            )
            continue
        data.update(_REGISTRY.restore(delta.get("updates", {})))
        for key in delta.get("deletions", []):
            data.pop(key, None)
    return data

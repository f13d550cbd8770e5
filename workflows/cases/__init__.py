"""The five case processes: records, services and the actions their BPMN elements run.

`register` adds every case action to the engine's hook registry."""

from workflows.cases import (
    accountability,
    appeal,
    clarification,
    periodic,
    rectification,
    service,
    tolerance,
)
from workflows.engine.hooks import Registry

#: The case records a step's completion may add or change: kept as the step's effects, so
#: that 退回/撤回 supersede what they undo (`workflows.tasks.going_back`).
RECORDS = frozenset(
    {
        "case_file",
        "case_link",
        "decision",
        "six_element_analysis",
        "appeal",
        "rectification_requirement",
        "verification_round",
        "clarification",
        "promotion_ban",
    }
)


def register(registry: Registry) -> None:
    """The case actions, the keys no form may set and the `case.open` completeness rule."""
    for module in (
        accountability,
        appeal,
        clarification,
        periodic,
        rectification,
        service,
        tolerance,
    ):
        registry.add_module(module)
    registry.protect(*service.PROTECTED_KEYS)
    registry.audited_record("case.open", *service.OPENED)
    registry.recorded_tables.update(RECORDS)

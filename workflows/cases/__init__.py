"""The five case processes: records, services and the actions their BPMN elements run.

Importing this package registers every case action with `workflows.hooks`."""
from workflows.cases import (  # noqa: F401
    accountability,
    appeal,
    clarification,
    periodic,
    rectification,
    service,
    tolerance,
)

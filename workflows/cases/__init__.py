"""The five case processes: records, services and the actions their BPMN elements run.

Importing this package registers every case action with `workflows.hooks`."""
from workflows.cases import service  # noqa: F401

for _module in ("accountability", "tolerance", "appeal", "rectification", "clarification", "periodic"):
    try:
        __import__(f"workflows.cases.{_module}")
    except ModuleNotFoundError as _err:  # a process not written yet
        if _err.name != f"workflows.cases.{_module}":
            raise

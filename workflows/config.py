"""Settings read from the environment once; passed explicitly afterwards."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get(
            "CADREFLOW_DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'cadreflow.db'}"
        )
    )
    clock_adjustable: bool = field(default_factory=lambda: _flag("CLOCK_ADJUSTABLE"))
    secure_cookies: bool = field(default_factory=lambda: _flag("CADREFLOW_SECURE_COOKIES"))
    timezone: str = field(
        default_factory=lambda: os.environ.get("CADREFLOW_TIMEZONE", "Asia/Shanghai")
    )
    scheduler_interval: float = field(
        default_factory=lambda: float(os.environ.get("CADREFLOW_SCHEDULER_INTERVAL", "5"))
    )
    forms_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("CADREFLOW_FORMS_DIR", str(ROOT / "forms")))
    )
    max_definition_bytes: int = field(
        default_factory=lambda: int(os.environ.get("CADREFLOW_MAX_DEFINITION_BYTES", "2000000"))
    )
    # One engine step (a start, a completion, a timer firing) may run this long and complete
    # this many engine-run tasks; past either it is stopped (workflows/engine/spiff.py StepLimits).
    step_budget: float = field(
        default_factory=lambda: float(os.environ.get("CADREFLOW_STEP_BUDGET", "10"))
    )
    step_max_tasks: int = field(
        default_factory=lambda: int(os.environ.get("CADREFLOW_STEP_MAX_TASKS", "5000"))
    )
    # Any request body (a deployment carries several definitions; a case document has its
    # own cap, workflows/documents): larger ones are refused before they are read.
    max_request_bytes: int = field(
        default_factory=lambda: int(
            os.environ.get("CADREFLOW_MAX_REQUEST_BYTES", str(16 * 1024 * 1024))
        )
    )

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
    # E-mail (邮件): notifications are also queued in the outbox and sent over SMTP while
    # `smtp_url` is set (smtp://host:port, smtps://…, user:password@, ?starttls=1); the links
    # in a mail start with `base_url` (workflows/tasks/outbox.py, mail.py).
    smtp_url: str | None = field(  # may carry a password: kept out of repr()
        default_factory=lambda: os.environ.get("CADREFLOW_SMTP_URL", "").strip() or None,
        repr=False,
    )
    smtp_from: str = field(
        default_factory=lambda: (
            os.environ.get("CADREFLOW_SMTP_FROM", "").strip() or "cadreflow@localhost"
        )
    )
    base_url: str = field(
        default_factory=lambda: (
            os.environ.get("CADREFLOW_BASE_URL", "").strip() or "http://127.0.0.1:5000"
        )
    )

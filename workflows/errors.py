"""Domain errors. They carry no HTTP status; server/errors.py maps them once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause; `message` is meant for people."""

    code = "domain_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    """The object is visible to the caller, but this action is not theirs to take."""

    code = "forbidden"


class Conflict(DomainError):
    """The object changed under the caller: already completed, stale version."""

    code = "conflict"


class AuditNotWritten(Conflict):
    """A change's audit row could not be appended: the change is not committed either."""

    code = "audit_not_written"


class DraftConflict(Conflict):
    """A form draft was saved, discarded or deployed since the revision the caller started
    from; the details name the revision stored now, who saved it and when (None: no draft)."""

    code = "draft_conflict"


class TaskAlreadyCompleted(Conflict):
    code = "task_already_completed"


class OpinionsMissing(Conflict):
    """加签: the step has a request for opinions still open; the message names whose are missing."""

    code = "opinions_missing"


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` lists each field path and its message."""

    code = "validation_failed"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, errors=errors or [])
        self.errors = errors or []


@dataclass(frozen=True)
class FormProblem:
    """One rule of a form's JSON Schema that its data breaks: the field's path, the schema
    keyword (`required`, `minLength`, `type`, …) with its value there, the validator's message,
    and where the keyword sits in the schema (a rule inside an `if`/`then` is worded with its
    condition)."""

    field: str
    rule: str
    limit: object
    message: str
    schema_path: tuple[str | int, ...] = ()


class FormInvalid(ValidationFailed):
    """Form data the form's JSON Schema refuses; `problems` say which rule each field broke,
    so that a page can word the message in its own language; `form` is the form's JSON Schema
    once the refusal is worded (`form_messages.worded`), for wording it in another language."""

    def __init__(
        self,
        message: str,
        problems: list[FormProblem],
        *,
        form: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, [{"field": p.field, "message": p.message} for p in problems])
        self.problems = problems
        self.form = form


class DefinitionError(DomainError):
    """A BPMN/DMN/form file is refused; `problems` name file, element id and reason."""

    code = "invalid_definition"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConfirmationRequired(DefinitionError):
    """A deployment with warnings only: it goes ahead when the designer confirms them."""

    code = "confirmation_required"


class ExpressionError(DomainError):
    """An expression was refused by the safe evaluator or failed while evaluated."""

    code = "invalid_expression"

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"expression {expression!r} refused: {reason}")
        self.expression = expression
        self.reason = reason


class UnknownCalendarYear(DomainError):
    """Neither chinesecalendar nor the admin overrides know this year: never guess."""

    code = "unknown_calendar_year"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"working days of {year} are unknown: add the year's calendar "
            f"(cadreflow calendar) before computing deadlines in it"
        )
        self.year = year


class ClockNotAdjustable(DomainError):
    code = "clock_not_adjustable"


class SchedulerAlreadyRunning(DomainError):
    code = "scheduler_running"


class Problem:
    """One finding of validation: where (file, element) and why."""

    __slots__ = ("element", "file", "name", "reason", "severity")

    def __init__(
        self,
        file: str,
        element: str | None,
        reason: str,
        *,
        severity: str = "error",
        name: str | None = None,
    ) -> None:
        self.file, self.element, self.reason = file, element, reason
        self.severity = severity  # "error": refuses a deployment; "warning": needs a confirmation
        self.name = name  # the element's name, when it has one

    def __str__(self) -> str:
        where = f"{self.file}: {self.element}" if self.element else self.file
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "file": self.file,
            "element": self.element,
            "name": self.name,
            "severity": self.severity,
            "reason": self.reason,
        }


class Unauthenticated(DomainError):
    """No valid login: wrong password, expired or revoked session or token."""

    code = "unauthenticated"


class AccountLocked(Unauthenticated):
    """Too many failed logins: the account waits out its lock."""

    code = "account_locked"

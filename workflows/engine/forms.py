"""User-task forms: JSON Schema files in forms/, checked at deploy, enforced at completion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from workflows.errors import FormInvalid, FormProblem, Problem

_FORMATS = FormatChecker()


def load(
    forms_dir: Path, name: str, *, referenced_by: str, element: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Reads and checks one form file; problems name the BPMN file and element using it."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None, [
            Problem(referenced_by, element, f"form name {name!r} must be a plain file name")
        ]
    path = forms_dir / name
    if not path.is_file():
        return None, [Problem(referenced_by, element, f"form {name!r} not found in {forms_dir}")]
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, [Problem(referenced_by, element, f"form {name!r} is not valid JSON: {err}")]
    return check(schema, name, referenced_by=referenced_by, element=element)


def check(
    schema: Any, name: str, *, referenced_by: str, element: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A parsed form as deploying accepts it: an object that is a valid JSON Schema 2020-12;
    problems name the BPMN file and element using it."""
    if not isinstance(schema, dict):
        return None, [Problem(referenced_by, element, f"form {name!r} is not a JSON object")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.path) or "(root)"
        return None, [
            Problem(
                referenced_by,
                element,
                f"form {name!r} is not a valid JSON Schema at {where}: {err.message}",
            )
        ]
    return schema, []


def compile(schema: dict[str, Any]) -> Draft202012Validator:
    """A reusable validator for a schema already checked at deploy."""
    return Draft202012Validator(schema, format_checker=_FORMATS)


def validate(schema: dict[str, Any] | Draft202012Validator, data: Any) -> None:
    """Raises FormInvalid listing every field path, the rule it breaks and the message;
    returns if valid."""
    validator = schema if isinstance(schema, Draft202012Validator) else compile(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        field = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            field = "/".join(filter(None, [field, missing]))
        problems.append(
            FormProblem(
                field=field or "(form)",
                rule=str(error.validator),
                limit=error.validator_value,
                message=error.message,
            )
        )
    if problems:
        raise FormInvalid(
            "the form has errors: " + "; ".join(f"{p.field}: {p.message}" for p in problems),
            problems,
        )

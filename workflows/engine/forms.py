"""User-task forms: JSON Schema files in forms/, checked at deploy, enforced at completion.

Besides JSON Schema 2020-12 a form may mark a date field `"x-past": true`: the date records
something done (送达、决定、核实、谈话…) and may not be after today in the deployment's time
zone. Deadline-like dates (整改期限、督办限期) carry no mark and may lie in the future."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

from workflows.errors import FormInvalid, FormProblem, Problem
from workflows.messages import t

_FORMATS = FormatChecker()
#: The keyword marking a date that records something done: not after today (see the module doc).
PAST = "x-past"


def load(
    forms_dir: Path, name: str, *, referenced_by: str, element: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Reads and checks one form file; problems name the BPMN file and element using it."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None, [
            Problem(
                referenced_by, element, t("表单名 %(name)r 只能是文件名，不能含路径", name=name)
            )
        ]
    path = forms_dir / name
    if not path.is_file():
        return None, [
            Problem(
                referenced_by,
                element,
                t("表单 %(name)r 在 %(forms_dir)s 中不存在", name=name, forms_dir=forms_dir),
            )
        ]
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, [
            Problem(
                referenced_by,
                element,
                t("表单 %(name)r 不是有效的 JSON：%(err)s", name=name, err=err),
            )
        ]
    return check(schema, name, referenced_by=referenced_by, element=element)


def check(
    schema: Any, name: str, *, referenced_by: str, element: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A parsed form as deploying accepts it: an object that is a valid JSON Schema 2020-12;
    problems name the BPMN file and element using it."""
    if not isinstance(schema, dict):
        return None, [Problem(referenced_by, element, t("表单 %(name)r 应为 JSON 对象", name=name))]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.path) or "(root)"
        return None, [
            Problem(
                referenced_by,
                element,
                t(
                    "表单 %(name)r 不是有效的 JSON Schema（位置 %(where)s）：%(message)s",
                    name=name,
                    where=where,
                    message=err.message,
                ),
            )
        ]
    return schema, []


def compile(schema: dict[str, Any]) -> Draft202012Validator:
    """A reusable validator for a schema already checked at deploy."""
    return Draft202012Validator(schema, format_checker=_FORMATS)


def validate(
    schema: dict[str, Any] | Draft202012Validator, data: Any, *, today: date | None = None
) -> None:
    """Raises FormInvalid listing every field path, the rule it breaks and the message (with
    each `x-past` date after `today`, when given); returns if valid."""
    validator = schema if isinstance(schema, Draft202012Validator) else compile(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
    problems = [_problem(error) for error in errors]
    if today is not None:
        problems += after_today(validator.schema, data, today)
    if problems:
        raise FormInvalid(
            t(
                "表单有误：%(problems)s",
                problems="；".join(f"{p.field}：{p.message}" for p in problems),
            ),
            problems,
        )


def _problem(error: ValidationError) -> FormProblem:
    """One validator error under the path of the field it concerns: a missing member is named
    by itself, as is a member a rule forbids (`not: {required: [member]}`)."""
    field = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        field = "/".join(filter(None, [field, missing]))
    limit = error.validator_value
    if error.validator == "not" and isinstance(limit, Mapping) and limit.get("required"):
        field = "/".join(filter(None, [field, str(limit["required"][0])]))
    return FormProblem(
        field=field or "(form)",
        rule=str(error.validator),
        limit=limit,
        message=error.message,
        schema_path=tuple(error.absolute_schema_path),
    )


def after_today(schema: Mapping[str, Any], data: Any, today: date) -> list[FormProblem]:
    """Each date of `data` marked `x-past` in `schema` that is after `today`."""
    return [
        FormProblem(
            field=path,
            rule=PAST,
            limit=today.isoformat(),
            message=f"{value} is after today ({today})",
        )
        for path, value in _past_dates(schema, data, "")
        if value > today
    ]


def _past_dates(schema: Mapping[str, Any], data: Any, prefix: str) -> Iterator[tuple[str, date]]:
    if isinstance(data, Mapping):
        for name, sub in (schema.get("properties") or {}).items():
            if name in data and isinstance(sub, Mapping):
                yield from _past_dates(sub, data[name], f"{prefix}{name}/")
    elif isinstance(data, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(data):
            yield from _past_dates(schema["items"], item, f"{prefix}{index}/")
    elif schema.get(PAST) is True and isinstance(data, str):
        try:
            yield prefix.rstrip("/"), date.fromisoformat(data)
        except ValueError:  # not a date: `format: date` says so
            return

"""User-task forms: JSON Schema files in forms/, checked at deploy, enforced at completion."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from workflows.engine import form_messages
from workflows.errors import FormInvalid, FormProblem, Problem

_FORMATS = FormatChecker()


def load(
    forms_dir: Path, name: str, *, referenced_by: str, element: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Reads and checks one form file; problems name the BPMN file and element using it."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None, [Problem(referenced_by, element, f"表单名 {name!r} 只能是文件名，不能含路径")]
    path = forms_dir / name
    if not path.is_file():
        return None, [Problem(referenced_by, element, f"表单 {name!r} 在 {forms_dir} 中不存在")]
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, [Problem(referenced_by, element, f"表单 {name!r} 不是有效的 JSON：{err}")]
    return check(schema, name, referenced_by=referenced_by, element=element)


def check(
    schema: Any, name: str, *, referenced_by: str, element: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A parsed form as deploying accepts it: an object that is a valid JSON Schema 2020-12;
    problems name the BPMN file and element using it."""
    if not isinstance(schema, dict):
        return None, [Problem(referenced_by, element, f"表单 {name!r} 应为 JSON 对象")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.path) or "(root)"
        return None, [
            Problem(
                referenced_by,
                element,
                f"表单 {name!r} 不是有效的 JSON Schema（位置 {where}）：{err.message}",
            )
        ]
    return schema, []


def compile(schema: dict[str, Any]) -> Draft202012Validator:
    """A reusable validator for a schema already checked at deploy."""
    return Draft202012Validator(schema, format_checker=_FORMATS)


def validate(schema: dict[str, Any] | Draft202012Validator, data: Any) -> None:
    """Raises FormInvalid listing every field path, the rule it breaks and its message in
    Chinese (`form_messages.word`); returns if valid."""
    validator = schema if isinstance(schema, Draft202012Validator) else compile(schema)
    fields = form_messages.by_path(validator.schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        field = "/".join(str(p) for p in error.absolute_path)
        rule = str(error.validator)
        if rule in ("required", "dependentRequired"):
            missing = error.message.split("'")[1] if "'" in error.message else ""
            field = "/".join(filter(None, [field, missing]))
        problems.append(
            FormProblem(
                field=field or "(form)",
                rule=rule,
                limit=error.validator_value,
                message=form_messages.word(
                    "required" if rule == "dependentRequired" else rule,
                    error.validator_value,
                    fields.get(form_messages.generic(field), {}),
                    error.message,
                ),
            )
        )
    if problems:
        raise FormInvalid(
            f"表单有 {len(problems)} 处错误："
            + "；".join(f"{p.field}：{p.message}" for p in problems),
            problems,
        )


def problems(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[dict[str, str]]:
    """What the form's JSON Schema finds wrong with `data`, each message in Chinese under its
    field's path; none when it is valid."""
    try:
        validate(compile(dict(schema)), dict(data))
    except FormInvalid as err:
        return err.errors
    return []

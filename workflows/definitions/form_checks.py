"""What a form must be before a designer's draft is stored: the checks a deployment applies
(a JSON object that is a valid JSON Schema 2020-12, `forms.check`), bounded in size and
depth, plus what the form designer and the task page rely on — field keys that are ASCII
identifiers, bounds that leave some value possible, rules that name fields of the form, and
a UI schema the task page's renderer can build. Each refusal names its JSON path
(`schema.properties.due.maximum`) and says in Chinese what is expected."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from workflows.errors import ValidationFailed
from workflows.jsondepth import MAX_JSON_DEPTH, too_deep
from workflows.messages import t

SCHEMA_SUFFIX = ".schema.json"
UI_SUFFIX = ".uischema.json"
#: The text of a form's schema or UI schema, at most (the shipped forms need under 20 kB).
MAX_FORM_BYTES = 200_000
_STEM = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
#: The `ui:widget` values the task page renders (server/ui/schema_form.py).
WIDGETS = frozenset({"text", "textarea", "date", "radio", "select", "person", "document"})
_BOUNDS = (("minLength", "maxLength"), ("minimum", "maximum"), ("minItems", "maxItems"))


def file_names(stem: str) -> tuple[str, str]:
    """The schema and UI schema file names of the form `stem`."""
    return f"{stem}{SCHEMA_SUFFIX}", f"{stem}{UI_SUFFIX}"


def stem_of(name: str) -> str | None:
    """The stem of a form file name, or None for a name that is not one."""
    for suffix in (UI_SUFFIX, SCHEMA_SUFFIX):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def check_stem(stem: str) -> str:
    """The stem if it is lower-case ASCII (`accountability_register`), else ValidationFailed."""
    if not _STEM.match(stem):
        raise ValidationFailed(
            t("表单名 %(stem)r 无效", stem=stem),
            [
                {
                    "field": "stem",
                    "message": t(
                        "表单名应以小写英文字母开头，只含小写字母、数字和下划线（至多 100 个）"
                    ),
                }
            ],
        )
    return stem


def check_form(schema: Any, uischema: Any) -> None:
    """ValidationFailed listing every problem of the form by JSON path, or None."""
    errors = _check_text(schema, "schema") + _check_text(uischema, "uischema")
    if not errors:
        errors = _check_schema(schema)
        if not errors:
            errors = _check_ui(uischema, schema)
    if errors:
        raise ValidationFailed(t("表单有 %(count)s 处错误，未保存", count=len(errors)), errors)


def _error(field: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "message": message}]


def _check_text(value: Any, name: str) -> list[dict[str, str]]:
    if not isinstance(value, dict):
        return _error(name, t("应为 JSON 对象"))
    text = json.dumps(value, ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_FORM_BYTES:
        return _error(
            name, t("内容过大：不能超过 %(kilobytes)s kB", kilobytes=MAX_FORM_BYTES // 1000)
        )
    if too_deep(text):
        return _error(name, t("JSON 嵌套不能超过 %(levels)s 层", levels=MAX_JSON_DEPTH))
    return []


def _check_schema(schema: dict[str, Any]) -> list[dict[str, str]]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = ".".join(["schema", *(str(p) for p in err.path)])
        return _error(where, t("不是有效的 JSON Schema 2020-12：%(message)s", message=err.message))
    if schema.get("type") != "object":
        return _error("schema.type", t('表单的 type 应为 "object"'))
    errors: list[dict[str, str]] = []
    _check_object(schema, "schema", errors)
    return errors


def _check_object(schema: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    """Keys, bounds and rules of an object schema and of the objects inside it."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    for key, sub in properties.items():
        at = f"{path}.properties.{key}"
        if not _KEY.match(key):
            errors.extend(
                _error(
                    at, t("字段键应以英文字母或下划线开头，只含字母、数字和下划线（如 decided_on）")
                )
            )
        if not isinstance(sub, Mapping):
            continue
        for low, high in _BOUNDS:
            if _number(sub.get(low)) and _number(sub.get(high)) and sub[low] > sub[high]:
                errors.extend(
                    _error(
                        f"{at}.{high}",
                        t("%(high)s 不能小于 %(low)s（%(sub)s）", high=high, low=low, sub=sub[low]),
                    )
                )
        if isinstance(sub.get("properties"), Mapping):
            _check_object(sub, at, errors)
        if isinstance(sub.get("items"), Mapping) and isinstance(
            sub["items"].get("properties"), Mapping
        ):
            _check_object(sub["items"], f"{at}.items", errors)
    _check_names(schema, path, set(properties), errors)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_names(
    schema: Mapping[str, Any], path: str, known: set[str], errors: list[dict[str, str]]
) -> None:
    """`required`, `dependentRequired` and the `allOf` if/then rules name fields of the form:
    a rule on a field the form does not have could never be met or never apply."""

    def named(names: Any, at: str) -> None:
        for index, name in enumerate(names if isinstance(names, list) else []):
            if name not in known:
                errors.extend(_error(f"{at}.{index}", t("表单没有字段 %(name)s", name=name)))

    named(schema.get("required"), f"{path}.required")
    for key, needed in (schema.get("dependentRequired") or {}).items():
        if key not in known:
            errors.extend(
                _error(f"{path}.dependentRequired.{key}", t("表单没有字段 %(key)s", key=key))
            )
        named(needed, f"{path}.dependentRequired.{key}")
    for index, rule in enumerate(schema.get("allOf") or []):
        at = f"{path}.allOf.{index}"
        for part in ("if", "then", "else"):
            sub = rule.get(part) if isinstance(rule, Mapping) else None
            if isinstance(sub, Mapping):
                for key in sub.get("properties") or {}:
                    if key not in known:
                        errors.extend(
                            _error(
                                f"{at}.{part}.properties.{key}", t("表单没有字段 %(key)s", key=key)
                            )
                        )
                named(sub.get("required"), f"{at}.{part}.required")


def _check_ui(ui: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, str]]:
    """The UI schema names fields of the form, orders them with a list of their keys, and
    asks only for widgets the task page renders; a document reference is an integer id."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    errors: list[dict[str, str]] = []
    order = ui.get("ui:order")
    if order is not None:
        if not isinstance(order, list):
            errors.extend(_error("uischema.ui:order", t("应为字段键的列表")))
        else:
            for index, name in enumerate(order):
                if name != "*" and name not in properties:
                    errors.extend(
                        _error(f"uischema.ui:order.{index}", t("表单没有字段 %(name)s", name=name))
                    )
    for key, sub in ui.items():
        if key.startswith("ui:"):
            continue
        at = f"uischema.{key}"
        if key not in properties:
            errors.extend(_error(at, t("表单没有字段 %(key)s", key=key)))
        elif not isinstance(sub, dict):
            errors.extend(_error(at, t('应为 JSON 对象（如 {"ui:widget": "textarea"}）')))
        else:
            errors.extend(_check_member(sub, properties[key], at))
    return errors


def _check_member(ui: dict[str, Any], schema: Any, at: str) -> list[dict[str, str]]:
    widget = ui.get("ui:widget")
    if widget is not None and widget not in WIDGETS:
        return _error(
            f"{at}.ui:widget",
            t("界面控件应为 %(widgets)s 之一", widgets="、".join(sorted(WIDGETS))),
        )
    if widget == "document" and (
        not isinstance(schema, Mapping) or schema.get("type") != "integer"
    ):
        return _error(f"{at}.ui:widget", t('文件引用字段的 type 应为 "integer"（案件材料的编号）'))
    if "ui:help" in ui and not isinstance(ui["ui:help"], str):
        return _error(f"{at}.ui:help", t("说明应为文字"))
    return []

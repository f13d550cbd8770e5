"""A form's validation messages in Chinese: each rule of its JSON Schema that form data
breaks, worded for the person filling it (`word`) and named by the field's path (`findings`,
`pairs/0/upper`). `forms.validate` words its refusals here, so the task page, the form
designer's 试填校验 and every API answer say the same thing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from workflows.errors import ValidationFailed

_INDEX = re.compile(r"^\d+$")


def choices(schema: Mapping[str, Any]) -> list[tuple[Any, str]] | None:
    """The (value, label) of a choice field: `oneOf` of consts with titles, or an `enum`."""
    if isinstance(schema.get("oneOf"), list) and all(
        isinstance(o, dict) and "const" in o for o in schema["oneOf"]
    ):
        return [(o["const"], str(o.get("title", o["const"]))) for o in schema["oneOf"]]
    if isinstance(schema.get("enum"), list):
        return [(v, str(v)) for v in schema["enum"]]
    return None


def by_path(schema: Mapping[str, Any], prefix: str = "") -> dict[str, Mapping[str, Any]]:
    """Each property's schema by path (array items under `<path>/*`)."""
    found: dict[str, Mapping[str, Any]] = {}
    for name, sub in (schema.get("properties") or {}).items():
        found[f"{prefix}{name}"] = sub
        found.update(by_path(sub, f"{prefix}{name}/"))
        if isinstance(sub.get("items"), Mapping):
            found[f"{prefix}{name}/*"] = sub["items"]
            found.update(by_path(sub["items"], f"{prefix}{name}/*/"))
    return found


def generic(path: str) -> str:
    """A field path with its array indices as `*` (`pairs/0/upper` → `pairs/*/upper`)."""
    return "/".join("*" if _INDEX.match(part) else part for part in path.split("/"))


_TYPES = {
    "integer": "整数",
    "number": "数字",
    "boolean": "是或否",
    "string": "文字",
    "array": "若干项",
    "object": "一组字段",
}


def messages(refused: ValidationFailed) -> list[dict[str, str]]:
    """A refusal of form data as fields and messages: the form's rules (already worded by
    `forms.validate`) or a rule of the process, as it was given."""
    return refused.errors or [{"field": "(form)", "message": refused.message}]


def word(rule: str, limit: object, schema: Mapping[str, Any], said: str) -> str:
    """The Chinese message for a broken `rule` (a JSON Schema keyword) with its value `limit`
    there; `schema` is the field's own schema, `said` the validator's English words, quoted only
    for a rule not worded here."""
    if rule == "required":
        if choices(schema) is not None:
            return "请选择一项"
        return "请至少填写一项" if schema.get("type") == "array" else "请填写此项"
    if rule == "minLength":
        return f"至少填写 {limit} 个字"
    if rule == "maxLength":
        return f"最多填写 {limit} 个字"
    if rule == "format":
        return "请填写有效的日期（年-月-日）" if limit == "date" else f"格式应为 {limit}"
    if rule == "type":
        wanted = "/".join(map(str, limit)) if isinstance(limit, list) else str(limit)
        return f"应为{_TYPES.get(wanted, wanted)}"
    if rule in ("oneOf", "anyOf", "enum", "const"):
        return "请从所列选项中选择"
    if rule == "minimum":
        return f"不能小于 {limit}"
    if rule == "maximum":
        return f"不能大于 {limit}"
    if rule == "minItems":
        return f"至少填写 {limit} 项"
    if rule == "maxItems":
        return f"最多填写 {limit} 项"
    if rule == "exclusiveMinimum":
        return f"应大于 {limit}"
    if rule == "exclusiveMaximum":
        return f"应小于 {limit}"
    if rule == "pattern":
        return "格式不符合要求"
    if rule == "uniqueItems":
        return "各项不能重复"
    if rule == "multipleOf":
        return f"应为 {limit} 的倍数"
    if rule in ("additionalProperties", "unevaluatedProperties", "False schema"):
        return "表单含有不接受的字段"
    if rule == "not":
        return "所填内容不被接受"
    return f"填写有误（{said}）"

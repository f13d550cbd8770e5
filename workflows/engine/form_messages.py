"""A form's validation messages in Chinese: each rule of its JSON Schema that form data
breaks (`forms.validate`), worded for the person filling it and named by the field's path
(`findings`, `pairs/0/upper`). The task page, the form designer's 试填校验 and the API's
form preview say the same thing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from workflows.engine import forms
from workflows.errors import FormInvalid, FormProblem, ValidationFailed

_INDEX = re.compile(r"^\d+$")
#: The pattern of a text that must say something: blanks alone are no text.
NOT_BLANK = r"\S"


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


def problems(
    schema: Mapping[str, Any], data: Mapping[str, Any], *, today: date | None = None
) -> list[dict[str, str]]:
    """What the form's JSON Schema finds wrong with `data` (the domain's validator,
    `workflows.engine.forms.validate`), each message in Chinese under its field's path."""
    try:
        forms.validate(forms.compile(dict(schema)), dict(data), today=today)
    except FormInvalid as err:
        return messages(schema, err)
    return []


def worded(schema: Mapping[str, Any], refused: FormInvalid) -> FormInvalid:
    """The refusal with every message in Chinese, all of them in its detail, each naming its
    field's title: what the API answers for form data its form refuses."""
    said = messages(schema, refused)
    titles = by_path(schema)
    detail = "；".join(
        f"「{titles.get(generic(p['field']), {}).get('title', p['field'])}」{p['message']}"
        for p in said
    )
    chinese = FormInvalid(f"表单有 {len(said)} 处需要修改：{detail}", refused.problems)
    chinese.errors = said
    return chinese


def messages(schema: Mapping[str, Any], refused: ValidationFailed) -> list[dict[str, str]]:
    """A refusal of form data as the page words it: a rule of the form's JSON Schema in
    Chinese beside its field, any other refusal (a rule of the process) as it was given."""
    if not isinstance(refused, FormInvalid):
        return refused.errors or [{"field": "(form)", "message": refused.message}]
    schemas = by_path(schema)
    return [
        {"field": p.field, "message": _message(p, schemas.get(generic(p.field), {}), schema)}
        for p in refused.problems
    ]


def conditional(
    root: Mapping[str, Any],
) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """The form's top-level `if`/`then` rules (alone or under `allOf`): each as its condition
    worded for a person (see `condition`), its `then` and its `if`."""
    rules = [root, *(r for r in root.get("allOf") or [] if isinstance(r, Mapping))]
    return [
        (condition(root, r["if"]), r["then"], r["if"])
        for r in rules
        if isinstance(r.get("if"), Mapping) and isinstance(r.get("then"), Mapping)
    ]


def condition(root: Mapping[str, Any], when: Mapping[str, Any]) -> str:
    """An `if` that fixes fields to values (`const` or `enum`) as a person reads it:
    选择「考虑结果：不存在容错情形」."""
    said = []
    for name, wanted in (when.get("properties") or {}).items():
        field = (root.get("properties") or {}).get(name) or {}
        values = [wanted["const"]] if "const" in wanted else list(wanted.get("enum") or [])
        said.append(f"{field.get('title', name)}：{_either(field, values)}")
    return f"选择「{'；'.join(said)}」" if said else "按规则"


def _either(field: Mapping[str, Any], values: list[Any]) -> str:
    """Values of a field by their labels: 通过、退回补充整改或整改不力."""
    labels = {encode_key(v): t for v, t in choices(field) or []}
    named = [
        labels.get(encode_key(v), ("是" if v else "否") if isinstance(v, bool) else str(v))
        for v in values
    ]
    return "或".join(filter(None, ["、".join(named[:-1]), named[-1]])) if named else ""


def encode_key(value: Any) -> str:
    """A choice's value as a key that keeps `true` and `1` apart."""
    return f"{type(value).__name__}:{value}"


def _rule_of(
    root: Mapping[str, Any], path: tuple[str | int, ...]
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The `if` and `then` of the innermost conditional rule a schema path runs through."""
    node: Any = root
    found = None
    for step in path:
        if step == "then" and isinstance(node, Mapping) and isinstance(node.get("if"), Mapping):
            found = (node["if"], node["then"])
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return found
    return found


def _message(problem: FormProblem, schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    rule, limit = problem.rule, problem.limit
    rule_of = _rule_of(root, problem.schema_path)
    if rule_of is not None:  # the rule's own words (its `then`'s description) follow, if any
        when, then = rule_of
        said = _conditional_message(problem, schema, condition(root, when))
        return f"{said}：{then['description']}" if then.get("description") else said
    if rule == forms.PAST:
        return f"不能晚于今天（{limit}）：所记录的事须已发生"
    if rule == "required":
        if choices(schema) is not None:
            return "请选择一项"
        return "请至少填写一项" if schema.get("type") == "array" else "请填写此项"
    if rule == "pattern" and limit == NOT_BLANK:
        return "请填写此项（不能只有空白）"
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
    if rule == "additionalProperties":
        return "表单含有不接受的字段"
    return f"填写有误（{problem.message}）"


def _conditional_message(problem: FormProblem, schema: Mapping[str, Any], when: str) -> str:
    """A rule that holds only on a condition, worded with it."""
    if problem.rule == "required":
        return f"{when}时必填"
    if problem.rule == "not":
        return f"{when}时不能填写此项，请改选或清空"
    if problem.rule in ("const", "enum"):
        limit = problem.limit
        values = limit if problem.rule == "enum" and isinstance(limit, list) else [limit]
        return f"{when}时应为「{_either(schema, values)}」"
    return f"{when}时：{_message(problem, schema, {})}"

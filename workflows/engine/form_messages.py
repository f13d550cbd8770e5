"""A form's validation messages in Chinese: each rule of its JSON Schema that form data
breaks (`forms.validate`), worded for the person filling it and named by the field's path
(`findings`, `pairs/0/upper`). The task page, the form designer's 试填校验 and the API's
form preview say the same thing.

Every function takes the caller's `gettext` (the page's or the API request's catalog; as
written by default): it translates both these wordings (`make messages` extracts them) and
the form's own texts — titles and choice labels — so English pages and `Accept-Language: en`
read them in English. A text the catalog lacks stays as written."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from workflows.engine import forms
from workflows.errors import FormInvalid, FormProblem, ValidationFailed

_INDEX = re.compile(r"^\d+$")
#: The pattern of a text that must say something: blanks alone are no text.
NOT_BLANK = r"\S"

#: A catalog lookup: a text in the reader's language (gettext's signature).
Gettext = Callable[[str], str]


def as_written(text: str) -> str:
    """No catalog: the text as written (Chinese)."""
    return text


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


def _type_name(wanted: str, gettext: Gettext) -> str:
    names = {
        "integer": gettext("整数"),
        "number": gettext("数字"),
        "boolean": gettext("是或否"),
        "string": gettext("文字"),
        "array": gettext("若干项"),
        "object": gettext("一组字段"),
    }
    return names.get(wanted, wanted)


def problems(
    schema: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    today: date | None = None,
    gettext: Gettext = as_written,
) -> list[dict[str, str]]:
    """What the form's JSON Schema finds wrong with `data` (the domain's validator,
    `workflows.engine.forms.validate`), each message worded under its field's path."""
    try:
        forms.validate(forms.compile(dict(schema)), dict(data), today=today)
    except FormInvalid as err:
        return messages(schema, err, gettext=gettext)
    return []


def worded(
    schema: Mapping[str, Any], refused: FormInvalid, *, gettext: Gettext = as_written
) -> FormInvalid:
    """The refusal with every message worded, all of them in its detail, each naming its
    field's title: what the API answers for form data its form refuses. The refusal keeps the
    form (`form`), so that an answer in another language can word it again."""
    said = messages(schema, refused, gettext=gettext)
    titles = by_path(schema)
    detail = gettext("；").join(
        gettext("「%(title)s」%(message)s")
        % {"title": _title(titles.get(generic(p["field"]), {}), p["field"], gettext), **p}
        for p in said
    )
    again = FormInvalid(
        gettext("表单有 %(count)d 处需要修改：%(detail)s") % {"count": len(said), "detail": detail},
        refused.problems,
        form=schema,
    )
    again.errors = said
    return again


def _title(field: Mapping[str, Any], name: str, gettext: Gettext) -> str:
    """A field as a person names it: its title in the reader's language, else its key."""
    title = field.get("title")
    return gettext(str(title)) if title else name


def messages(
    schema: Mapping[str, Any], refused: ValidationFailed, *, gettext: Gettext = as_written
) -> list[dict[str, str]]:
    """A refusal of form data as the page words it: a rule of the form's JSON Schema beside its
    field, any other refusal (a rule of the process) as it was given."""
    if not isinstance(refused, FormInvalid):
        return refused.errors or [{"field": "(form)", "message": refused.message}]
    schemas = by_path(schema)
    return [
        {
            "field": p.field,
            "message": _message(p, schemas.get(generic(p.field), {}), schema, gettext),
        }
        for p in refused.problems
    ]


def conditional(
    root: Mapping[str, Any], *, gettext: Gettext = as_written
) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """The form's top-level `if`/`then` rules (alone or under `allOf`): each as its condition
    worded for a person (see `condition`), its `then` and its `if`."""
    rules = [root, *(r for r in root.get("allOf") or [] if isinstance(r, Mapping))]
    return [
        (condition(root, r["if"], gettext=gettext), r["then"], r["if"])
        for r in rules
        if isinstance(r.get("if"), Mapping) and isinstance(r.get("then"), Mapping)
    ]


def condition(
    root: Mapping[str, Any], when: Mapping[str, Any], *, gettext: Gettext = as_written
) -> str:
    """An `if` that fixes fields to values (`const` or `enum`) as a person reads it:
    选择「考虑结果：不存在容错情形」."""
    said = []
    for name, wanted in (when.get("properties") or {}).items():
        field = (root.get("properties") or {}).get(name) or {}
        values = [wanted["const"]] if "const" in wanted else list(wanted.get("enum") or [])
        said.append(
            gettext("%(field)s：%(values)s")
            % {"field": _title(field, name, gettext), "values": either(field, values, gettext)}
        )
    if not said:
        return gettext("按规则")
    return gettext("选择「%(choice)s」") % {"choice": gettext("；").join(said)}


def either(field: Mapping[str, Any], values: list[Any], gettext: Gettext = as_written) -> str:
    """Values of a field by their labels: 通过、退回补充整改或整改不力."""
    labels = {encode_key(v): t for v, t in choices(field) or []}
    named = [
        gettext(labels[encode_key(v)])
        if encode_key(v) in labels
        else (gettext("是") if v else gettext("否"))
        if isinstance(v, bool)
        else str(v)
        for v in values
    ]
    if len(named) < 2:
        return "".join(named)
    return gettext("%(some)s或%(last)s") % {
        "some": gettext("、").join(named[:-1]),
        "last": named[-1],
    }


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


def _message(
    problem: FormProblem, schema: Mapping[str, Any], root: Mapping[str, Any], gettext: Gettext
) -> str:
    rule, limit = problem.rule, problem.limit
    rule_of = _rule_of(root, problem.schema_path)
    if rule_of is not None:  # the rule's own words (its `then`'s description) follow, if any
        when, then = rule_of
        said = _conditional_message(
            problem, schema, condition(root, when, gettext=gettext), gettext
        )
        if not then.get("description"):
            return said
        return gettext("%(message)s：%(rule)s") % {
            "message": said,
            "rule": gettext(str(then["description"])),
        }
    if rule == forms.PAST:
        return gettext("不能晚于今天（%(today)s）：所记录的事须已发生") % {"today": limit}
    if rule == "required":
        if choices(schema) is not None:
            return gettext("请选择一项")
        return gettext("请至少填写一项") if schema.get("type") == "array" else gettext("请填写此项")
    if rule == "pattern":
        if limit == NOT_BLANK:
            return gettext("请填写此项（不能只有空白）")
        return gettext("格式不符合要求（应符合规则 %(pattern)s）") % {"pattern": limit}
    if rule == "format":
        return _format_message(str(limit), gettext)
    if rule == "type":
        wanted = "/".join(map(str, limit)) if isinstance(limit, list) else str(limit)
        return gettext("应为%(kind)s") % {"kind": _type_name(wanted, gettext)}
    if rule == "const":
        return gettext("应为「%(value)s」") % {"value": either(schema, [limit], gettext)}
    if rule == "not":
        return _not_message(schema, limit, gettext)
    if rule in ("oneOf", "anyOf", "enum"):
        return gettext("请从所列选项中选择")
    if rule == "additionalProperties":
        return gettext("表单含有不接受的字段")
    if rule == "uniqueItems":
        return gettext("各项不能重复，请删去重复的项")
    worded = _LIMITS.get(rule)
    if worded is not None:
        return gettext(worded) % {"limit": limit}
    return gettext("填写有误：不符合表单的规则（%(rule)s）") % {"rule": rule}


def N_(text: str) -> str:
    """Marks a text for the catalog; it is translated where it is used."""
    return text


#: Rules with one number: the wording, translated where it is used.
_LIMITS = {
    "minLength": N_("至少填写 %(limit)s 个字"),
    "maxLength": N_("最多填写 %(limit)s 个字"),
    "minimum": N_("不能小于 %(limit)s"),
    "maximum": N_("不能大于 %(limit)s"),
    "exclusiveMinimum": N_("应大于 %(limit)s"),
    "exclusiveMaximum": N_("应小于 %(limit)s"),
    "multipleOf": N_("应为 %(limit)s 的整数倍"),
    "minItems": N_("至少填写 %(limit)s 项"),
    "maxItems": N_("最多填写 %(limit)s 项"),
    "minProperties": N_("至少填写 %(limit)s 个字段"),
    "maxProperties": N_("最多填写 %(limit)s 个字段"),
}


def _format_message(wanted: str, gettext: Gettext) -> str:
    """A text that is not of its format, with the format named as a person knows it."""
    if wanted == "date":
        return gettext("请填写有效的日期（年-月-日）")
    if wanted == "date-time":
        return gettext("请填写有效的日期和时间（年-月-日T时:分:秒+08:00）")
    if wanted == "time":
        return gettext("请填写有效的时间（时:分:秒+08:00）")
    if wanted in ("email", "idn-email"):
        return gettext("请填写有效的电子邮件地址")
    if wanted in ("uri", "iri", "uri-reference", "iri-reference"):
        return gettext("请填写有效的网址")
    if wanted in ("ipv4", "ipv6"):
        return gettext("请填写有效的 IP 地址")
    return gettext("格式应为 %(format)s") % {"format": wanted}


def _not_message(schema: Mapping[str, Any], forbidden: Any, gettext: Gettext) -> str:
    """A `not` outside a conditional rule: a member that may not be there, or values that may
    not be chosen."""
    if isinstance(forbidden, Mapping):
        if forbidden.get("required"):
            return gettext("不能填写此项，请清空")
        if "const" in forbidden or "enum" in forbidden:
            values = [forbidden["const"]] if "const" in forbidden else list(forbidden["enum"])
            return gettext("不能为「%(value)s」") % {"value": either(schema, values, gettext)}
    return gettext("所填内容不被接受，请改填")


def _conditional_message(
    problem: FormProblem, schema: Mapping[str, Any], when: str, gettext: Gettext
) -> str:
    """A rule that holds only on a condition, worded with it."""
    if problem.rule == "required":
        return gettext("%(when)s时必填") % {"when": when}
    if problem.rule == "not":
        return gettext("%(when)s时不能填写此项，请改选或清空") % {"when": when}
    if problem.rule in ("const", "enum"):
        limit = problem.limit
        values = limit if problem.rule == "enum" and isinstance(limit, list) else [limit]
        return gettext("%(when)s时应为「%(values)s」") % {
            "when": when,
            "values": either(schema, values, gettext),
        }
    return gettext("%(when)s时：%(message)s") % {
        "when": when,
        "message": _message(problem, schema, {}, gettext),
    }

"""Task forms on pages: a form's JSON Schema and UI schema as HTML fields, the posted fields
read back as form data, and each validation message in Chinese beside its field.

A field's `path` is the validator's name for it (`findings`, `pairs/0/upper`), which is
also its input's `name`, so an error from `workflows.forms.validate` or from a domain
action (`ValidationFailed` naming `departure_reason`) lands on its input. The constructs
the forms in forms/ use are covered: text, long text (`ui:widget: textarea`), dates,
integers, choices (`oneOf` of consts or `enum`, as radios or a select), booleans, a case
document chosen by its id (`ui:widget: document`), read-only
values, nested objects, arrays of items, and the six-element grid (an element with its
favourable / unfavourable pole and a `<key>_reason`, DOMAIN.md §2.2), shown as a table.

A form's own texts — titles, descriptions, help, option labels — are shown in the page's
language through the catalog (`make messages` extracts forms/*.json, see form_content.py); a
text the catalog lacks (a designer's new form) stays as written. Values stay the codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from server.ui import i18n
from workflows.engine.form_messages import by_path, choices, conditional, generic

#: The poles of a six-element row and the column headings of the grid.
POLES = ("favourable", "unfavourable")
#: Widgets a choice may ask for in the UI schema; others fall back to radios (few options) or a select.
_CHOICE_WIDGETS = ("radio", "select")
_RADIO_MAX = 4
_INDEX = re.compile(r"^\d+$")
#: Where a six-element title's name ends and its question begins (动机态度：是…).
_TITLE_END = re.compile(r"：|: ")


@dataclass(frozen=True)
class Option:
    value: str  # as posted
    label: str


@dataclass
class Field:
    path: str
    widget: str  # text textarea date number select radio checkbox readonly object array grid
    # person document
    label: str
    help: str = ""
    required: bool = False
    options: list[Option] = field(default_factory=list)
    value: str = ""
    integer: bool = False
    max_length: int | None = None
    errors: list[str] = field(default_factory=list)
    children: list[Field] = field(
        default_factory=list
    )  # object: its fields; grid row: pole, reason
    rows: list[list[Field]] = field(default_factory=list)  # array: the fields of each item
    item_label: str = ""
    search_url: str = ""  # a person field: where its search box asks for options
    focus: bool = False  # the first field with an error takes the keyboard focus

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.path.replace("/", "--"))

    @property
    def shown(self) -> str:
        """A read-only value as a person reads it (a choice's label)."""
        return next((o.label for o in self.options if o.value == self.value), self.value)

    def walk(self) -> Iterator[Field]:
        yield self
        for child in self.children:
            yield from child.walk()
        for row in self.rows:
            for item in row:
                yield from item.walk()


# --- building the fields -----------------------------------------------------------------------


def encode(value: Any) -> str:
    """A JSON value as an input holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Form data as the posted fields that would give it: path → text."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}/"))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    flat.update(flatten(item, f"{path}/{index}/"))
                else:
                    flat[f"{path}/{index}"] = encode(item)
        else:
            flat[path] = encode(value)
    return flat


def _ordered(schema: Mapping[str, Any], ui: Mapping[str, Any]) -> list[str]:
    names = list((schema.get("properties") or {}).keys())
    order = [n for n in ui.get("ui:order", []) if n in names or n == "*"]
    if not order:
        return names
    rest = [n for n in names if n not in order]
    if "*" in order:
        at = order.index("*")
        return order[:at] + rest + order[at + 1 :]
    return order + rest


def _is_pole(schema: Mapping[str, Any]) -> bool:
    found = choices(schema)
    return found is not None and {value for value, _ in found} == set(POLES)


def build(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any] | None,
    values: Mapping[str, str],
    *,
    extra_rows: Mapping[str, int] | None = None,
) -> list[Field]:
    """The fields of an object schema filled with `values` (path → text, see `flatten`);
    `extra_rows` adds empty items to arrays (path → how many)."""
    return _object_fields(schema, ui or {}, values, "", extra_rows or {})


def _object_fields(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any],
    values: Mapping[str, str],
    prefix: str,
    extra: Mapping[str, int],
) -> list[Field]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    ruled = _required_by_rule(schema, values, prefix)
    required |= {name for name, (_, applies) in ruled.items() if applies}
    names = _ordered(schema, ui)
    paired = {n for n in names if _is_pole(properties[n]) and f"{n}_reason" in properties}
    fields: list[Field] = []
    grid: Field | None = None
    for name in names:
        if name in {f"{p}_reason" for p in paired}:
            continue
        sub_ui = _sub_ui(ui, name)
        made = _field(properties[name], sub_ui, values, f"{prefix}{name}", name in required, extra)
        if name in paired:
            reason_ui = _sub_ui(ui, f"{name}_reason")
            reason = _field(
                properties[f"{name}_reason"],
                reason_ui,
                values,
                f"{prefix}{name}_reason",
                f"{name}_reason" in required,
                extra,
            )
            made.widget = "radio"
            made.options.sort(key=lambda o: POLES.index(o.value))
            row = Field(
                path=f"{prefix}{name}/(row)",
                widget="grid-row",
                label=_TITLE_END.split(made.label, maxsplit=1)[0],
                help=made.label,
                children=[made, reason],
            )
            if grid is None:
                grid = Field(path=f"{prefix}(grid)", widget="grid", label=_("六个要件"))
                fields.append(grid)
            grid.children.append(row)
            continue
        fields.append(made)
    for made in (f for top in fields for f in top.walk()):
        if made.path.removeprefix(prefix) in ruled:
            made.help = " ".join(
                filter(None, [made.help, ruled[made.path.removeprefix(prefix)][0]])
            )
    return fields


def _required_by_rule(
    schema: Mapping[str, Any], values: Mapping[str, str], prefix: str
) -> dict[str, tuple[str, bool]]:
    """Members an `if`/`then` rule requires: their help (（选择「…」时必填）) and whether the
    values as filled make the rule apply, so the field is marked required now."""
    found: dict[str, tuple[str, bool]] = {}
    for when, then, test in conditional(schema, gettext=i18n.text):
        applies = all(
            values.get(f"{prefix}{name}", "") in {encode(v) for v in _wanted(sub)}
            for name, sub in (test.get("properties") or {}).items()
        )
        for name in then.get("required") or []:
            note, already = found.get(name, ("", False))
            said = _("（%(when)s时必填）", when=when)
            found[name] = (" ".join(filter(None, [note, said])), already or applies)
    return found


def _wanted(test: Mapping[str, Any]) -> list[Any]:
    return [test["const"]] if "const" in test else list(test.get("enum") or [])


def _sub_ui(ui: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The UI schema of one member; an absent or malformed one counts as none."""
    found = ui.get(name)
    return found if isinstance(found, Mapping) else {}


def _field(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any],
    values: Mapping[str, str],
    path: str,
    required: bool,
    extra: Mapping[str, int],
) -> Field:
    title = schema.get("title")
    label = i18n.text(str(title)) if title else path.rsplit("/", 1)[-1]
    help_text = " ".join(
        i18n.text(str(t)) for t in (schema.get("description"), ui.get("ui:help")) if t
    )
    kind = schema.get("type")
    made = Field(
        path=path,
        widget="text",
        label=label,
        help=help_text,
        required=required,
        value=values.get(path, ""),
    )
    found = choices(schema)
    if found is not None:
        made.options = [Option(encode(value), i18n.text(label)) for value, label in found]
    if schema.get("readOnly") or ui.get("ui:readonly"):
        made.widget = "readonly"
    elif kind == "object" and schema.get("properties"):
        made.widget = "object"
        made.children = _object_fields(schema, ui, values, f"{path}/", extra)
    elif kind == "array" and isinstance(schema.get("items"), Mapping):
        made.widget = "array"
        items: Mapping[str, Any] = schema["items"]
        item_ui = _sub_ui(ui, "items")
        made.item_label = i18n.text(str(items.get("title") or ""))
        count = max(_row_count(values, path), int(schema.get("minItems") or 0), 1) + extra.get(
            path, 0
        )
        for index in range(count):
            at = f"{path}/{index}"
            if items.get("type") == "object":
                made.rows.append(_object_fields(items, item_ui, values, f"{at}/", extra))
            else:
                made.rows.append([_field(items, item_ui, values, at, False, extra)])
    elif found is not None:
        wanted = ui.get("ui:widget")
        made.widget = (
            wanted
            if wanted in _CHOICE_WIDGETS
            else ("radio" if len(found) <= _RADIO_MAX else "select")
        )
    elif kind == "boolean":
        made.widget = "checkbox"
    elif kind == "integer" and ui.get("ui:widget") == "document":  # 案件材料, by its id
        made.widget = "document"
    elif kind in ("integer", "number"):
        made.widget, made.integer = "number", kind == "integer"
    elif schema.get("format") == "date" or ui.get("ui:widget") == "date":
        made.widget = "date"
    elif ui.get("ui:widget") == "textarea":
        made.widget = "textarea"
    elif ui.get("ui:widget") == "person":  # a username, chosen by name from the page's list
        made.widget = "person"
    if isinstance(schema.get("maxLength"), int):
        made.max_length = schema["maxLength"]
    return made


def _row_count(values: Mapping[str, str], path: str) -> int:
    indices = [
        int(rest.split("/", 1)[0])
        for key in values
        if key.startswith(f"{path}/")
        for rest in [key[len(path) + 1 :]]
        if _INDEX.match(rest.split("/", 1)[0])
    ]
    return max(indices) + 1 if indices else 0


# --- reading what was posted -------------------------------------------------------------------


def read(
    schema: Mapping[str, Any], ui: Mapping[str, Any] | None, posted: Mapping[str, str]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The form data the posted fields give, and the fields that could not be read (a number
    that is not one): each `{"field", "message"}`. Empty inputs are left out; read-only ones too."""
    problems: list[dict[str, str]] = []
    fields = build(schema, ui, posted)
    data = _read_object(fields, posted, problems, by_path(schema))
    return data, problems


def _read_object(
    fields: list[Field],
    posted: Mapping[str, str],
    problems: list[dict[str, str]],
    schemas: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for made in fields:
        if made.widget == "grid":
            data.update(
                _read_object(
                    [f for row in made.children for f in row.children], posted, problems, schemas
                )
            )
            continue
        key = made.path.rsplit("/", 1)[-1]
        found = _read_one(made, posted, problems, schemas)
        if found is not _MISSING:
            data[key] = found
    return data


_MISSING = object()


def _read_one(
    made: Field,
    posted: Mapping[str, str],
    problems: list[dict[str, str]],
    schemas: Mapping[str, Mapping[str, Any]],
) -> Any:
    if made.widget == "readonly":
        return _MISSING
    if made.widget == "object":
        inner = _read_object(made.children, posted, problems, schemas)
        return inner if inner else _MISSING
    if made.widget == "array":
        items = []
        for row in made.rows:
            if len(row) == 1 and row[0].path.rsplit("/", 1)[-1].isdigit():
                value = _read_one(row[0], posted, problems, schemas)
                if value is not _MISSING:
                    items.append(value)
            else:
                item = _read_object(row, posted, problems, schemas)
                if any(v is not False for v in item.values()):  # a row of blank inputs is no item
                    items.append(item)
        return items if items else _MISSING
    if made.widget == "checkbox":
        return posted.get(made.path) == "true"
    text = (posted.get(made.path) or "").strip()
    if not text:
        return _MISSING
    if made.widget == "document":  # the task page offers the case's documents by id
        if text.isdigit():
            return int(text)
        problems.append({"field": made.path, "message": _("请从案件材料中选择")})
        return text
    if made.options:
        for value, _title in choices(schemas.get(generic(made.path), {})) or []:
            if encode(value) == text:
                return value
        problems.append({"field": made.path, "message": _("请从所列选项中选择")})
        return text
    if made.widget == "number":
        try:
            return int(text) if made.integer else float(text)
        except ValueError:
            problems.append(
                {"field": made.path, "message": _("应为整数") if made.integer else _("应为数字")}
            )
            return text
    return text


# --- errors beside their fields ----------------------------------------------------------------


def attach(fields: list[Field], errors: list[dict[str, str]]) -> list[str]:
    """Puts each message on its field (or the nearest enclosing one); returns the messages that
    name no field of the form, for the top. The first field with a message takes the focus."""
    index = {f.path: f for top in fields for f in top.walk()}
    unplaced = []
    for item in errors:
        path, message = str(item.get("field", "")), str(item.get("message", ""))
        target = None
        parts = path.split("/") if path else []
        while parts and target is None:
            target = index.get("/".join(parts))
            parts.pop()
        if target is None or target.widget in ("grid", "grid-row"):
            unplaced.append(message)
        elif message not in target.errors:
            target.errors.append(message)
    for top in fields:
        first = next((f for f in top.walk() if f.errors), None)
        if first is not None:
            first.focus = True
            break
    return unplaced

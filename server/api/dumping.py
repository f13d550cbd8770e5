"""Answers dumped without marshmallow's per-field machinery, to the same bytes.

marshmallow asks every field of every object for its value through three calls and an
accessor (`Field.serialize`, `get_value`, `utils.get_value`) before the field's own
formatting (`_serialize`): for a page of 50 tasks of 28 fields that was a third of the API's
answer time. `FastSchema.dump` does the same work straight: per field the key, the attribute
read, the dump default for a missing value and the field's own `_serialize` — compiled once
per schema instance. What it cannot do the same way (dump hooks, a schema's own
`get_attribute`, fields reading the whole object such as `Method`, dotted attributes) it
leaves to marshmallow: such a schema dumps as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema, fields
from marshmallow.utils import missing

Dumper = Callable[[Any], Any]

#: Fields whose `_serialize` reads only the value (not the attribute name or the object).
_PLAIN = (
    fields.String,
    fields.Integer,
    fields.Float,
    fields.Decimal,
    fields.Boolean,
    fields.DateTime,
    fields.Date,
    fields.Time,
    fields.Dict,
    fields.Raw,
    fields.UUID,
)


class FastSchema(Schema):
    """A marshmallow schema dumping through a compiled dumper when it has no hooks or
    fields that need marshmallow's own path (then it dumps as marshmallow does)."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if "_cadreflow_dumper" not in self.__dict__:
            self.__dict__["_cadreflow_dumper"] = compile_schema(self)
        dumper: Dumper | None = self.__dict__["_cadreflow_dumper"]
        if dumper is None or obj is None:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [dumper(item) for item in obj]
        return dumper(obj)


def compile_schema(schema: Schema) -> Dumper | None:
    """A function dumping one object as `schema.dump` does, or None where it cannot."""
    if any(schema._hooks.values()) or type(schema).get_attribute is not Schema.get_attribute:
        return None
    parts: list[tuple[str, str, Any, Dumper]] = []
    for name, field in schema.dump_fields.items():
        value_of = _value(field)
        if value_of is None:
            return None
        attribute = field.attribute if field.attribute is not None else name
        if "." in attribute:
            return None
        key = field.data_key if field.data_key is not None else name
        parts.append((key, attribute, field.dump_default, value_of))
    dict_class = schema.dict_class

    def dump(obj: Any) -> Any:
        found = dict_class()
        mapping = isinstance(obj, Mapping)
        for key, attribute, default, value_of in parts:
            value = obj.get(attribute, missing) if mapping else getattr(obj, attribute, missing)
            if value is missing:
                value = default() if callable(default) else default
                if value is missing:
                    continue
            found[key] = value_of(value)
        return found

    return dump


def _value(field: fields.Field) -> Dumper | None:
    """How `field` dumps a value read from the object, or None where only marshmallow can."""
    if not field._CHECK_ATTRIBUTE:
        return None
    if isinstance(field, fields.Nested):
        nested = field.schema
        inner = compile_schema(nested)
        if inner is None:
            return None
        if nested.many or field.many:
            return lambda value: None if value is None else [inner(item) for item in value]
        return lambda value: None if value is None else inner(value)
    if isinstance(field, fields.List):
        element = _value(field.inner)
        if element is None:
            return None
        return lambda value: None if value is None else [element(item) for item in value]
    if type(field) in _PLAIN:
        if type(field) is fields.String:
            text = field._serialize
            return lambda value: (
                value if value is None or type(value) is str else text(value, None, None)
            )
        serialize = field._serialize
        return lambda value: serialize(value, None, None)
    return None

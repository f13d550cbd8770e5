"""Free-text filters (搜索 boxes): case-insensitive 'contains' on one or more columns, taking
what was typed literally — `%` and `_` match themselves, not any text. Text with a NUL
character matches nothing (nothing stored holds one; PostgreSQL refuses it as a parameter)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, false, or_
from sqlalchemy.sql.elements import BindParameter, ColumnElement

_ESCAPE = "\\"


def matching(text: str | None, *columns: Any) -> ColumnElement[bool] | None:
    """A condition true where any of `columns` contains `text` (stripped); None for no text."""
    wanted = pattern(text)
    if wanted is None:
        return None
    if wanted == NOTHING:
        return false()
    return or_(*(column.ilike(wanted, escape=_ESCAPE) for column in columns))


def pattern(text: str | None) -> str | None:
    """The LIKE pattern of `matching` for `text` (None for no text; a NUL matches nothing,
    and `matching_bound` is then given NOTHING)."""
    wanted = (text or "").strip()
    if not wanted:
        return None
    if "\x00" in wanted:
        return NOTHING
    literal = (
        wanted.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
    return f"%{literal}%"


#: A pattern no stored text matches: what a NUL in the text searches for.
NOTHING = ""


def matching_bound(name: str, *columns: Any) -> ColumnElement[bool]:
    """`matching` with the pattern as the parameter `name` (its value: `pattern(text)`), for
    statements built once. The empty pattern matches nothing."""
    wanted: BindParameter[str] = bindparam(name)
    return and_(wanted != "", or_(*(column.ilike(wanted, escape=_ESCAPE) for column in columns)))

"""Free-text filters (搜索 boxes): case-insensitive 'contains' on one or more columns, taking
what was typed literally — `%` and `_` match themselves, not any text. Text with a NUL
character matches nothing (nothing stored holds one; PostgreSQL refuses it as a parameter)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_
from sqlalchemy.sql.elements import ColumnElement

_ESCAPE = "\\"


def matching(text: str | None, *columns: Any) -> ColumnElement[bool] | None:
    """A condition true where any of `columns` contains `text` (stripped); None for no text."""
    wanted = (text or "").strip()
    if not wanted:
        return None
    if "\x00" in wanted:
        return false()
    literal = (
        wanted.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
    return or_(*(column.ilike(f"%{literal}%", escape=_ESCAPE) for column in columns))

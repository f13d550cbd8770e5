"""One paginator for every list: a page of rows and how many there are in all.

A list query counts its matches only when it has to: the first page that is not full
already knows its total, and so does a later page that is not full."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
U = TypeVar("U")

#: Page sizes a caller may ask for.
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, where it is and how many items match in all."""

    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def map(self, shape: Callable[[T], U]) -> Page[U]:
        """The same page with every item shaped by `shape`."""
        return Page([shape(item) for item in self.items], self.page, self.per_page, self.total)


def count_of(
    session: Session,
    query: Select[Any],
    *,
    key: Any = None,
    params: Mapping[str, Any] | None = None,
) -> int:
    """How many rows `query` matches (its order left out; only `key` selected when given,
    so the count does not read the columns it would show); `params`: its parameters' values."""
    inner = query.order_by(None).limit(None).offset(None)
    if key is not None:
        inner = inner.with_only_columns(key)
    counted = select(func.count()).select_from(inner.subquery())
    return int(session.execute(counted, params).scalar_one())


def total_after(rows: int, *, page: int, per_page: int) -> int | None:
    """The total when a page's own row count tells it (a short page); None otherwise."""
    if rows < per_page and (rows or page == 1):
        return (page - 1) * per_page + rows
    return None


def paginate(
    session: Session,
    query: Select[Any],
    *,
    page: int,
    per_page: int,
    key: Any = None,
    params: Mapping[str, Any] | None = None,
) -> Page[Any]:
    """Page `page` (from 1) of `query`'s rows, `per_page` at a time, with the total;
    `params`: the values of the query's parameters (a statement built once)."""
    cut = query.limit(per_page).offset((page - 1) * per_page)
    rows = list(session.execute(cut, params).all())
    total = total_after(len(rows), page=page, per_page=per_page)
    if total is None:
        total = count_of(session, query, key=key, params=params)
    return Page(rows, page, per_page, total)

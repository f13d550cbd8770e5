"""Schemas and helpers every resource shares: pagination, problems, dates."""
from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint as _Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200


class Blueprint(_Blueprint):
    """A blueprint whose every operation documents the problem responses it may give, and
    whose argument schemas are built once: webargs, given a schema class, instantiates it
    on every request."""

    def route(self, rule: str, *, parameters: Any = None, **options: Any) -> Any:
        return super().route(rule, parameters=parameters, **options)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000),
                          metadata={"description": "页码，从 1 开始"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                              metadata={"description": f"每页条数，1–{MAX_PER_PAGE}"})


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details, with a field map for validation errors."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(allow_none=True)
    code = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    problems = fields.List(fields.Dict())


def page_of(session: Session, query: Select[Any], *, page: int, per_page: int,
            count: bool = True) -> tuple[list[Any], int]:
    """One page of `query` and the total number of rows it matches."""
    rows = list(session.execute(query.limit(per_page).offset((page - 1) * per_page)).all())
    if not count:
        return rows, len(rows)
    if page == 1 and len(rows) < per_page:
        return rows, len(rows)
    total = session.execute(select(func.count()).select_from(
        query.order_by(None).limit(None).offset(None).subquery())).scalar_one()
    return rows, int(total)


def page_body(items: list[Any], *, page: int, per_page: int, total: int) -> dict[str, Any]:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


PROBLEM_RESPONSES = (401, 403, 404, 409, 422)

"""Schemas and helpers every resource shares: page arguments and bodies (a `paging.Page`
dumps as one), problems."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint as _Blueprint
from marshmallow import Schema, fields, validate

from server.errors import PROBLEM_JSON
from workflows.paging import MAX_PER_PAGE


class Blueprint(_Blueprint):
    """A blueprint whose every operation documents the problem responses it may give, and
    whose argument schemas are built once: webargs, given a schema class, instantiates it
    on every request."""

    def route(self, rule: str, *, parameters: Any = None, **options: Any) -> Any:
        return super().route(rule, parameters=parameters, **options)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


class PageArgs(Schema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=100_000),
        metadata={"description": "页码，从 1 开始"},
    )
    per_page = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"每页条数，1–{MAX_PER_PAGE}"},
    )


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


def refusals(blp: _Blueprint, described: dict[int, str], *statuses: int) -> Any:
    """A decorator documenting the refusals (problem bodies) a route answers with, each with
    its description from `described`."""

    def decorate(fn: Any) -> Any:
        for status in statuses:
            fn = blp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=described[status],
            )(fn)
        return fn

    return decorate

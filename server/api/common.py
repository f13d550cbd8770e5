"""Schemas and helpers every resource shares: page arguments and bodies (a `paging.Page`
dumps as one), problems."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint as _Blueprint
from marshmallow import Schema, fields, validate

from server.api.dumping import FastSchema
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


def person_name(who: str) -> fields.String:
    """The label beside a username field (`<field>_name`): the person as people see them,
    姓名（单位·岗位）; null where the field is null. Every body names people this way."""
    return fields.String(
        allow_none=True,
        metadata={"description": f"{who}：姓名（单位·岗位）；系统操作为“系统…”；与用户名字段并列"},
    )


class PersonSchema(Schema):
    """A colleague one may choose (委派, 转办, 复核人): the username a body sends, and names."""

    username = fields.String(required=True, metadata={"description": "用户名：写入时请求体传这个"})
    name = fields.String(required=True, metadata={"description": "姓名"})
    label = fields.String(required=True, metadata={"description": "姓名（单位·岗位）"})


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


class PageSchema(FastSchema):
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

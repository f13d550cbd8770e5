"""Input hygiene before any view: no NUL character in a query parameter, a path segment, a
form field or a JSON string. Nothing stored holds one, PostgreSQL refuses it as a text
parameter (which would surface as a 500), and SQLite would store it silently — so it is
refused up front as a validation error naming the field (422: problem+json for the API,
a page for people).

A JSON body nested deeper than MAX_JSON_DEPTH is refused the same way, naming `(body)`,
before anything parses it: Python's parser, and everything that walks the parsed value,
recurses once per level and fails past about a thousand."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, g, request

from workflows.errors import ValidationFailed
from workflows.jsondepth import MAX_JSON_DEPTH, too_deep
from workflows.messages import t

NUL = "\x00"
_MESSAGE = t("不能含有空字符（NUL, \\u0000）")

DEPTH_MESSAGE = t("JSON 嵌套不能超过 %(depth)s 层", depth=MAX_JSON_DEPTH)


def _too_deep_refusal() -> ValidationFailed:
    return ValidationFailed(
        t("请求内容的 JSON 嵌套超过 %(depth)s 层，未予接收", depth=MAX_JSON_DEPTH),
        [{"field": "(body)", "message": DEPTH_MESSAGE}],
    )


def _refuse(field: str) -> ValidationFailed:
    return ValidationFailed(f"{field}：{_MESSAGE}", [{"field": field, "message": _MESSAGE}])


def _nul_path(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding a NUL in a parsed JSON value, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return inner
            found = _nul_path(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]" if path else f"[{index}]")
            if found:
                return found
    return None


def check_request() -> None:
    for key, value in request.args.items(multi=True):
        if NUL in key or NUL in value:
            raise _refuse(key)
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and NUL in value:
            raise _refuse(key)
    if request.mimetype == "application/x-www-form-urlencoded":
        for key, value in request.form.items(multi=True):
            if NUL in key or NUL in value:
                raise _refuse(key)
    elif request.is_json:
        body = request.get_data(cache=True)
        if too_deep(body):
            g.cadreflow_body_unread = True
            raise _too_deep_refusal()
        if b"\\u0000" in body:  # the only way a JSON text holds a NUL; then find where
            try:
                found = _nul_path(json.loads(body), "")
            except ValueError:
                return  # the view's parser names malformed JSON
            if found is not None:
                raise _refuse(found or "(body)")


def sent_json() -> Any:
    """The request's JSON body for the record of a refusal: None when there is none, it is
    malformed, or it was refused unread (too large, too deep)."""
    if g.get("cadreflow_body_unread"):
        return None
    return request.get_json(silent=True)


def init_app(app: Flask) -> None:
    app.before_request(check_request)

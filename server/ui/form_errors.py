"""A posted form's errors as field → message, in Chinese, from the marshmallow argument
schemas the API applies too (server/schemas.py) and from the domain's ValidationFailed;
the CSRF check for a form refused before it reaches its write."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from server import auth
from server.errors import field_map, said
from workflows.errors import Forbidden, ValidationFailed
from workflows.messages import t


def require_token() -> None:
    """Forbidden, as `auth.writing()` would answer, unless the posted form carries the session's
    CSRF token: a form must not be checked (and answered) for another site either."""
    with auth.reading():
        caller = auth.caller()
    if caller is None or caller.session_id is None:  # a bearer token needs none
        return
    sent = request.headers.get(auth.CSRF_HEADER) or request.form.get(auth.CSRF_FIELD) or ""
    if not hmac.compare_digest(sent, caller.csrf_token or ""):
        raise Forbidden(t("CSRF 校验失败：请刷新页面后重试（请求缺少或带错了 X-CSRF-Token）"))


def load(schema: Schema, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The loaded values and, if any rule is broken, one message per field."""
    try:
        return schema.load(dict(data)), {}
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        return {}, {
            name: "；".join(texts) for name, texts in field_map(messages, top=False).items()
        }


def of_domain(err: ValidationFailed) -> dict[str, str]:
    """The domain's refusal, one message per field (the whole message when it names none)."""
    found: dict[str, str] = {}
    for item in err.errors:
        name = str(item.get("field", "form"))
        found[name] = (
            f"{found[name]}；{said(item['message'])}"
            if name in found
            else said(str(item.get("message", "")))
        )
    return found or {"form": said(err.message)}

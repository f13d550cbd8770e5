"""The one place domain errors become HTTP: a problem+json body for the API, a page for people.

Domain errors carry no status (workflows/errors.py); this table gives them one. A
validation error's body has a field map (`errors`: field → messages) so a form can put
each message beside its field; a definition error lists its problems with the file and
element. Out-of-scope objects are NotFound (404) by the domain's own rule.

A database that cannot be reached or used (workflows/db.py `unavailable`) is an outage, not
a fault of the request: 503 with Retry-After, a problem body or a page that needs no
database, and one log line instead of a traceback per request.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

from workflows.engine import db
from workflows.errors import (
    AccountLocked,
    ClockNotAdjustable,
    ConfirmationRequired,
    Conflict,
    DefinitionError,
    DomainError,
    DraftConflict,
    ExpressionError,
    Forbidden,
    NotFound,
    SchedulerAlreadyRunning,
    Unauthenticated,
    UnknownCalendarYear,
    ValidationFailed,
)

#: Most specific first: the first matching class gives the status.
STATUS: list[tuple[type[DomainError], int, str]] = [
    (NotFound, 404, "未找到"),
    (AccountLocked, 423, "账户已锁定"),
    (Unauthenticated, 401, "未登录"),
    (Forbidden, 403, "无权操作"),
    (ClockNotAdjustable, 403, "时钟不可调整"),
    (Conflict, 409, "状态已变化"),
    (SchedulerAlreadyRunning, 409, "调度器已在运行"),
    (ValidationFailed, 422, "输入有误"),
    (ConfirmationRequired, 409, "部署前须确认警告"),
    (DefinitionError, 422, "流程定义有误"),
    (ExpressionError, 422, "表达式不被接受"),
    (UnknownCalendarYear, 422, "工作日历缺少该年度"),
    (DomainError, 400, "请求无法处理"),
]

PROBLEM_JSON = "application/problem+json"

#: Seconds a client is asked to wait before retrying while the database is unavailable.
RETRY_AFTER_SECONDS = 30

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
</head><body><h1>{{ title }}</h1><p>{{ detail }}</p>
{% if errors %}<ul>{% for field, messages in errors.items() %}{% for m in messages %}
<li><strong>{{ field }}</strong>：{{ m }}</li>{% endfor %}{% endfor %}</ul>{% endif %}
<p><a href="javascript:history.back()">返回</a></p></body></html>"""


def status_of(err: DomainError) -> tuple[int, str]:
    for cls, status, title in STATUS:
        if isinstance(err, cls):
            return status, title
    return 400, "请求无法处理"


def problem_type(code: str) -> str:
    """The `type` URI of every problem body: one per `code`, the same for domain and HTTP errors."""
    return f"https://cadreflow.local/problems/{code}"


def problem(err: DomainError) -> tuple[dict[str, Any], int]:
    """The RFC 9457 problem body and status for a domain error."""
    status, title = status_of(err)
    body: dict[str, Any] = {
        "type": problem_type(err.code),
        "title": title,
        "status": status,
        "detail": err.message,
        "code": err.code,
    }
    if isinstance(err, ValidationFailed):
        fields: dict[str, list[str]] = {}
        for item in err.errors:
            fields.setdefault(item["field"], []).append(item["message"])
        body["errors"] = fields
    if isinstance(err, DefinitionError):
        body["problems"] = [p.as_dict() for p in err.problems]
    if isinstance(err, DraftConflict):  # the draft as stored now, for 载入对方的草稿 / 覆盖保存
        saved_at = err.details.get("saved_at")
        body["draft"] = {
            **err.details,
            "saved_at": saved_at.isoformat() if isinstance(saved_at, datetime) else None,
        }
    return body, status


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def unavailable(err: Exception) -> Response:
    """The answer while the database is unavailable (`db.unavailable(err)`): 503 with
    Retry-After, a problem body or a page that reads nothing from the database; and one log
    line, without the traceback every request would otherwise repeat."""
    orig = getattr(err, "orig", None) or err
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    log.error(
        "database unavailable, answered 503 to %s %s: %s", request.method, request.path, reason
    )
    title, detail = "服务暂不可用", "数据库暂时无法访问，请稍后重试"
    if _wants_json():
        response = _json(
            {
                "type": problem_type("database_unavailable"),
                "title": title,
                "status": 503,
                "detail": detail,
                "code": "database_unavailable",
            },
            503,
        )
    else:
        response = Response(
            render_template_string(_PAGE, title=title, detail=detail, errors=None),
            503,
            mimetype="text/html",
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register(app: Flask) -> None:
    """Installs the handlers: domain errors and HTTP errors, JSON under /api/, pages elsewhere."""

    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        body, status = problem(err)
        if _wants_json():
            return _json(body, status)
        return render_template_string(
            _PAGE, title=body["title"], detail=body["detail"], errors=body.get("errors")
        ), status

    def _database(err: Exception) -> Any:
        if not db.unavailable(err):
            raise err  # a fault of ours: the usual 500, logged with its traceback
        return unavailable(err)

    for database_error in db.ERRORS:
        app.register_error_handler(database_error, _database)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        if status == 413:  # the body was not read: nothing of it was stored
            limit = request.max_content_length or 0
            size = (
                f"{limit / 1048576:.0f} MB" if limit >= 1048576 else f"{max(1, limit // 1024)} KB"
            )
            title, detail = "请求过大", f"请求内容超过上限 {size}，未予接收"
            if not _wants_json():
                return render_template_string(
                    _PAGE, title=title, detail=detail, errors=None
                ), status
            return _json(
                {
                    "type": problem_type("request_too_large"),
                    "title": title,
                    "status": status,
                    "detail": detail,
                    "code": "request_too_large",
                    "max_bytes": limit,
                },
                status,
            )
        if not _wants_json():
            return err
        body: dict[str, Any] = {
            "title": err.name,
            "status": status,
            "detail": err.description,
            "code": err.name.lower().replace(" ", "_"),
        }
        messages = (getattr(err, "data", None) or {}).get("messages")
        if status == 422 and isinstance(messages, dict):
            body.update(
                title="输入有误",
                code="validation_failed",
                detail="请求有误：请按各字段的提示修改",
                errors=field_map(messages),
            )
        elif status == 404:
            body.update(title="未找到", detail="没有这个地址")
        elif status == 405:
            body.update(title="不支持的方法", detail=f"{request.path} 不接受 {request.method}")
        body["type"] = problem_type(body["code"])
        response = _json(body, status)
        for name, value in ((getattr(err, "data", None) or {}).get("headers") or {}).items():
            response.headers[name] = value
        return response


#: marshmallow's messages, in the users' language.
_MESSAGES = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "不能为空",
    "Unknown field.": "不接受的字段",
    "Not a valid string.": "应为文本",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid boolean.": "应为是或否",
    "Not a valid date.": "应为日期，格式 YYYY-MM-DD",
    "Not a valid datetime.": "应为时间，格式 YYYY-MM-DDTHH:MM:SS+08:00",
    "Not a valid mapping type.": "应为对象",
    "Not a valid list.": "应为列表",
    "Invalid input type.": "类型不对",
    "Invalid value.": "取值不对",
    "Shorter than minimum length 1.": "不能为空",
}


def _translate(message: str) -> str:
    if message in _MESSAGES:
        return _MESSAGES[message]
    if message.startswith("Must be one of: "):
        return "应为以下之一：" + message.removeprefix("Must be one of: ").rstrip(".")
    if (
        message.startswith("Must be greater than or equal to ")
        and " and less than or equal to " in message
    ):
        low, high = (
            message.removeprefix("Must be greater than or equal to ")
            .rstrip(".")
            .split(" and less than or equal to ")
        )
        return f"应在 {low} 到 {high} 之间"
    if message.startswith("Longer than maximum length "):
        return f"长度不能超过 {message.removeprefix('Longer than maximum length ').rstrip('.')}"
    if message.startswith("Length must be between "):
        low, high = message.removeprefix("Length must be between ").rstrip(".").split(" and ")
        return f"长度应在 {low} 到 {high} 之间"
    return message


def field_map(
    messages: dict[str, Any], prefix: str = "", *, top: bool = True
) -> dict[str, list[str]]:
    """webargs' nested messages ({location: {field: [..]}}) as a flat field → messages map."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        # Only the outermost keys are locations: a field may be named "files" too.
        if (
            top
            and not prefix
            and key in {"json", "query", "form", "files", "path", "headers", "cookies"}
        ):
            name = ""
        elif key == "_schema":  # marshmallow's name for a whole object's error: name the object
            name = prefix
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            for inner, texts in field_map(value, name, top=False).items():
                flat.setdefault(inner, []).extend(texts)
        else:
            texts = value if isinstance(value, list) else [value]
            flat.setdefault(name or "(body)", []).extend(_translate(str(t)) for t in texts)
    return flat

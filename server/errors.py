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
import re
from datetime import datetime
from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from workflows import messages
from workflows.engine import db, form_messages
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
    FormInvalid,
    NotFound,
    SchedulerAlreadyRunning,
    Unauthenticated,
    UnknownCalendarYear,
    ValidationFailed,
)

#: Most specific first: the first matching class gives the status.
STATUS: list[tuple[type[DomainError], int, str]] = [
    (NotFound, 404, _l("未找到")),
    (AccountLocked, 423, _l("账户已锁定")),
    (Unauthenticated, 401, _l("未登录")),
    (Forbidden, 403, _l("无权操作")),
    (ClockNotAdjustable, 403, _l("时钟不可调整")),
    (Conflict, 409, _l("状态已变化")),
    (SchedulerAlreadyRunning, 409, _l("调度器已在运行")),
    (ValidationFailed, 422, _l("输入有误")),
    (ConfirmationRequired, 409, _l("部署前须确认警告")),
    (DefinitionError, 422, _l("流程定义有误")),
    (ExpressionError, 422, _l("表达式不被接受")),
    (UnknownCalendarYear, 422, _l("工作日历缺少该年度")),
    (DomainError, 400, _l("请求无法处理")),
]

#: HTTP refusals that are not the domain's (werkzeug's), as title and detail in our words.
HTTP_WORDS: dict[int, tuple[str, str]] = {
    400: (_l("请求有误"), _l("请求无法解析，请检查请求内容")),
    401: (_l("未登录"), _l("请先登录，或在请求中带上有效的令牌")),
    403: (_l("无权操作"), _l("没有执行此操作的权限")),
    404: (_l("未找到"), _l("没有这个地址")),
    409: (_l("状态已变化"), _l("对象已被他人改动，请刷新后重试")),
    415: (_l("不支持的内容类型"), _l("请求内容应为 application/json")),
    429: (_l("请求过于频繁"), _l("请求过于频繁，请稍后重试")),
    500: (_l("服务器内部错误"), _l("服务器出错，请稍后重试")),
}

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
    """The status and title of a domain error, the title in the request's language."""
    for cls, status, title in STATUS:
        if isinstance(err, cls):
            return status, str(title)
    return 400, _("请求无法处理")


def problem_type(code: str) -> str:
    """The `type` URI of every problem body: one per `code`, the same for domain and HTTP errors."""
    return f"https://cadreflow.local/problems/{code}"


def problem(err: DomainError) -> tuple[dict[str, Any], int]:
    """The RFC 9457 problem body and status for a domain error."""
    status, title = status_of(err)
    if isinstance(err, FormInvalid) and err.form is not None:  # worded again, for this reader
        err = form_messages.worded(err.form, err, gettext=_)
    body: dict[str, Any] = {
        "type": problem_type(err.code),
        "title": title,
        "status": status,
        "detail": said(err.message),
        "code": err.code,
    }
    if isinstance(err, ValidationFailed):
        fields: dict[str, list[str]] = {}
        for item in err.errors:
            fields.setdefault(item["field"], []).append(said(item["message"]))
        body["errors"] = fields
    if isinstance(err, DefinitionError):
        body["problems"] = [{**p.as_dict(), "reason": said(p.reason)} for p in err.problems]
    if isinstance(err, DraftConflict):  # the draft as stored now, for 载入对方的草稿 / 覆盖保存
        saved_at = err.details.get("saved_at")
        body["draft"] = {
            **err.details,
            "saved_at": saved_at.isoformat() if isinstance(saved_at, datetime) else None,
        }
    return body, status


def said(message: str) -> str:
    """A domain message in the request's language: a `t(…)` message by its msgid and values,
    a plain text by itself; the catalog's translation where it has one (Chinese otherwise)."""
    return messages.said(message, _)


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
    title, detail = _("服务暂不可用"), _("数据库暂时无法访问，请稍后重试")
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
            title, detail = _("请求过大"), _("请求内容超过上限 %(size)s，未予接收", size=size)
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
        title, detail = HTTP_WORDS.get(status, (err.name, err.description or ""))
        body: dict[str, Any] = {
            "title": str(title),
            "status": status,
            "detail": str(detail),
            "code": err.name.lower().replace(" ", "_"),
        }
        messages = (getattr(err, "data", None) or {}).get("messages")
        if status == 422 and isinstance(messages, dict):
            body.update(
                title=_("输入有误"),
                code="validation_failed",
                detail=_("请求有误：请按各字段的提示修改"),
                errors=field_map(messages),
            )
        elif status == 405:
            body.update(
                title=_("不支持的方法"),
                detail=_("%(path)s 不接受 %(method)s", path=request.path, method=request.method),
            )
        body["type"] = problem_type(body["code"])
        response = _json(body, status)
        for name, value in ((getattr(err, "data", None) or {}).get("headers") or {}).items():
            response.headers[name] = value
        return response


#: marshmallow's messages, in the users' language (English ones on request, by the catalog).
_MESSAGES = {
    "Missing data for required field.": _l("必填"),
    "Field may not be null.": _l("不能为空"),
    "Unknown field.": _l("不接受的字段"),
    "Not a valid string.": _l("应为文本"),
    "Not a valid utf-8 string.": _l("应为 UTF-8 文本"),
    "Not a valid integer.": _l("应为整数"),
    "Not a valid number.": _l("应为数字"),
    "Number too large.": _l("数值过大"),
    "Special numeric values (nan or infinity) are not permitted.": _l("不接受 NaN 或无穷大"),
    "Not a valid boolean.": _l("应为是或否"),
    "Not a valid date.": _l("应为日期，格式 YYYY-MM-DD"),
    "Not a valid datetime.": _l("应为时间，格式 YYYY-MM-DDTHH:MM:SS+08:00"),
    "Not a valid naive datetime.": _l("应为不带时区的时间，格式 YYYY-MM-DDTHH:MM:SS"),
    "Not a valid aware datetime.": _l("应为带时区的时间，格式 YYYY-MM-DDTHH:MM:SS+08:00"),
    "Not a valid time.": _l("应为时刻，格式 HH:MM:SS"),
    "Not a valid period of time.": _l("应为时长"),
    "Not a valid mapping type.": _l("应为对象"),
    "Not a valid list.": _l("应为列表"),
    "Not a valid tuple.": _l("应为列表"),
    "Not a valid UUID.": _l("应为 UUID"),
    "Not a valid email address.": _l("应为有效的电子邮件地址"),
    "Not a valid URL.": _l("应为有效的网址"),
    "String does not match expected pattern.": _l("格式不符合要求"),
    "Invalid input type.": _l("类型不对"),
    "Invalid input.": _l("取值不对"),
    "Invalid value.": _l("取值不对"),
    "Shorter than minimum length 1.": _l("不能为空"),
}
#: marshmallow's messages that carry values: (pattern, the message with those values).
_WITH_VALUES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), _l("应为以下之一：%(choices)s")),
    (
        re.compile(
            r"^Must be greater than or equal to (?P<low>\S+) and less than or equal to "
            r"(?P<high>\S+)\.$"
        ),
        _l("应在 %(low)s 到 %(high)s 之间"),
    ),
    (re.compile(r"^Must be greater than or equal to (?P<low>\S+)\.$"), _l("不能小于 %(low)s")),
    (re.compile(r"^Must be less than or equal to (?P<high>\S+)\.$"), _l("不能大于 %(high)s")),
    (re.compile(r"^Must be greater than (?P<low>\S+)\.$"), _l("应大于 %(low)s")),
    (re.compile(r"^Must be less than (?P<high>\S+)\.$"), _l("应小于 %(high)s")),
    (re.compile(r"^Shorter than minimum length (?P<low>\d+)\.$"), _l("长度不能少于 %(low)s")),
    (re.compile(r"^Longer than maximum length (?P<high>\d+)\.$"), _l("长度不能超过 %(high)s")),
    (
        re.compile(r"^Length must be between (?P<low>\d+) and (?P<high>\d+)\.$"),
        _l("长度应在 %(low)s 到 %(high)s 之间"),
    ),
    (re.compile(r"^Length must be (?P<equal>\d+)\.$"), _l("长度应为 %(equal)s")),
    (re.compile(r"^Must be equal to (?P<other>.*)\.$"), _l("应为 %(other)s")),
]


def _translate(message: str) -> str:
    """A marshmallow message in the request's language; our own (Chinese) ones through the
    catalog."""
    if message in _MESSAGES:
        return str(_MESSAGES[message])
    for pattern, worded in _WITH_VALUES:
        found = pattern.match(message)
        if found:
            return str(worded) % found.groupdict()
    return said(message)


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
            flat.setdefault(name or "(body)", []).extend(
                _translate(t if isinstance(t, str) else str(t)) for t in texts
            )
    return flat

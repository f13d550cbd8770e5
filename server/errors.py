"""The one place domain errors become HTTP: a problem+json body for the API, a page for people.

Domain errors carry no status (workflows/errors.py); this table gives them one. A
validation error's body has a field map (`errors`: field → messages) so a form can put
each message beside its field; a definition error lists its problems with the file and
element. Out-of-scope objects are NotFound (404) by the domain's own rule.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

from workflows.errors import (
    ClockNotAdjustable,
    Conflict,
    DefinitionError,
    DomainError,
    ExpressionError,
    Forbidden,
    NotFound,
    SchedulerAlreadyRunning,
    UnknownCalendarYear,
    ValidationFailed,
)

#: Most specific first: the first matching class gives the status.
STATUS: list[tuple[type[DomainError], int, str]] = [
    (NotFound, 404, "未找到"),
    (Forbidden, 403, "无权操作"),
    (ClockNotAdjustable, 403, "时钟不可调整"),
    (Conflict, 409, "状态已变化"),
    (SchedulerAlreadyRunning, 409, "调度器已在运行"),
    (ValidationFailed, 422, "输入有误"),
    (DefinitionError, 422, "流程定义有误"),
    (ExpressionError, 422, "表达式不被接受"),
    (UnknownCalendarYear, 422, "工作日历缺少该年度"),
    (DomainError, 400, "请求无法处理"),
]

PROBLEM_JSON = "application/problem+json"

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


def problem(err: DomainError) -> tuple[dict[str, Any], int]:
    """The RFC 9457 problem body and status for a domain error."""
    status, title = status_of(err)
    body: dict[str, Any] = {"type": f"https://cadreflow.local/problems/{err.code}",
                            "title": title, "status": status, "detail": err.message,
                            "code": err.code}
    if isinstance(err, ValidationFailed):
        fields: dict[str, list[str]] = {}
        for item in err.errors:
            fields.setdefault(item["field"], []).append(item["message"])
        body["errors"] = fields
    if isinstance(err, DefinitionError):
        body["problems"] = [p.as_dict() for p in err.problems]
    return body, status


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def register(app: Flask) -> None:
    """Installs the handlers: domain errors and HTTP errors, JSON under /api/, pages elsewhere."""

    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        body, status = problem(err)
        if _wants_json():
            return _json(body, status)
        return render_template_string(_PAGE, title=body["title"], detail=body["detail"],
                                      errors=body.get("errors")), status

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        if not _wants_json():
            return err
        status = err.code or 500
        return _json({"type": "about:blank", "title": err.name, "status": status,
                      "detail": err.description, "code": err.name.lower().replace(" ", "_")},
                     status)

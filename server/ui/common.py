"""What every page shares: the blueprint, safe redirects, flash messages, htmx, time display.

Flash messages live in a short-lived cookie (the app has no signing secret; a message
is plain text shown escaped, so a forged one can only mislead its own sender).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, make_response, redirect, request, url_for
from werkzeug.routing import BuildError

from server import auth

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ui/static",
)

FLASH_COOKIE = "cadreflow_flash"
FLASH_KINDS = ("info", "success", "error")
_FLASH_MAX = 4


def is_htmx() -> bool:
    """The request came from htmx (it wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def safe_next(target: str | None, default: str | None = None) -> str:
    """`target` if it is a path on this site (no scheme, no host), else `default` (the home page)."""
    fallback = url_for("ui.home") if default is None else default
    if not target:
        return fallback
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return fallback
    return target


_ID_MARK = 987_654_321


def link_to_each(endpoint: str, key: str) -> str:
    """A link to `endpoint` with `{id}` where `key` goes, built once for a list and filled per
    row (`link.replace("{id}", id)`): a list of 20 rows saves 20 URL builds per link."""
    values: dict[str, Any] = {key: _ID_MARK}
    return url_for(endpoint, **values).replace(str(_ID_MARK), "{id}")


def page_url(endpoint: str, **values: Any) -> str | None:
    """The URL of a page, or None while no such page exists (so a template links only to real pages)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def csrf_token() -> str:
    """The logged-in session's CSRF token, for forms (`csrf_token` field) and htmx (header)."""
    caller = auth.caller()
    return (caller.csrf_token or "") if caller else ""


# -- flash messages -----------------------------------------------------------------------


def flash(response: Response, message: str, kind: str = "info") -> Response:
    """Adds a message to be shown once on the next page this browser renders."""
    pending = (
        g.ui_flash_new if "ui_flash_new" in g else _read_flashes(request.cookies.get(FLASH_COOKIE))
    )
    g.ui_flash_new = [*pending, (kind if kind in FLASH_KINDS else "info", message[:500])][
        -_FLASH_MAX:
    ]
    encoded = base64.urlsafe_b64encode(
        json.dumps(g.ui_flash_new, ensure_ascii=False).encode()
    ).decode()
    response.set_cookie(
        FLASH_COOKIE,
        encoded,
        max_age=300,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


def redirect_with(target: str, message: str | None = None, kind: str = "info") -> Response:
    """A redirect (303) to a local page, with an optional flash message."""
    response: Response = make_response(redirect(target, code=303))
    return flash(response, message, kind) if message else response


def flashes() -> list[tuple[str, str]]:
    """The pending messages; they are cleared by the response that shows them."""
    g.ui_flash_shown = True
    return _read_flashes(request.cookies.get(FLASH_COOKIE))


def _read_flashes(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return [(str(k) if k in FLASH_KINDS else "info", str(m)[:500]) for k, m in items][
            :_FLASH_MAX
        ]
    except (ValueError, TypeError, RecursionError):  # a cookie made by hand
        return []


@bp.after_request
def _clear_shown_flashes(response: Response) -> Response:
    if g.get("ui_flash_shown") and not g.get("ui_flash_new") and FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="Lax")
    return response


# -- time ---------------------------------------------------------------------------------


@bp.app_template_filter("local")
def local_time(moment: datetime | None) -> str:
    """A moment in the deployment's time zone, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone(auth.runtime().clock.tz).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("deadline")
def deadline(moment: datetime | None) -> str:
    """A due moment as the day it falls due: a deadline ends at local midnight, i.e. the day before."""
    if moment is None:
        return ""
    local = moment.astimezone(auth.runtime().clock.tz)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M")


# -- forms on a case's page or one of its steps' pages ---------------------------------------


def case_or_task(case_id: int, task_id: int | None, anchor: str) -> str:
    """Where a form shown on a case page or on a step's page (`task_id`) leads back to."""
    target = url_for("ui.task", task_id=task_id) if task_id else url_for("ui.case", case_id=case_id)
    return f"{target}#{anchor}"


def again(case_id: int, task_id: int | None, key: str, state: dict[str, Any]) -> Any:
    """The case or step page the form was on, rendered again with the refused form (422); the
    form's partial finds its `state` under `key` in `g`."""
    g.setdefault(key, {**state, "case_id": case_id})
    view: Callable[..., Any] = current_app.view_functions["ui.task" if task_id else "ui.case"]
    response = current_app.make_response(
        view(task_id=task_id) if task_id else view(case_id=case_id)
    )
    response.status_code = 422
    return response

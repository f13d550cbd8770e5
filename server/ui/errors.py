"""Domain errors on pages: a login redirect for Unauthenticated, otherwise a page (or, for
htmx, a message swapped into the page's message area) with the status server/errors.py
gives the error."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template, request, url_for
from flask_babel import gettext as _

from server import auth, errors
from server.ui.common import bp, is_htmx, redirect_with, safe_next
from workflows.errors import DomainError, Unauthenticated


def _came_from() -> str:
    """Where to return after logging in: this page for a GET, the form's page for a POST."""
    if request.method == "GET":
        return safe_next(request.full_path.rstrip("?"))
    return safe_next(request.form.get("next"))


@bp.errorhandler(Unauthenticated)
def _to_login(err: Unauthenticated) -> Any:
    target = url_for("ui.login", next=_came_from())
    if is_htmx():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    # Someone who never logged in is asked to; an ended session says why it ended.
    message = errors.said(err.message) if request.cookies.get(auth.COOKIE) else _("请先登录")
    return redirect_with(target, message, "info")


@bp.errorhandler(DomainError)
def _page(err: DomainError) -> Any:
    body, status = errors.problem(err)
    if is_htmx():
        response = make_response(
            render_template("_messages.html", messages=[("error", body["detail"])]), status
        )
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_template(
        "error.html", title=body["title"], detail=body["detail"], errors=body.get("errors")
    ), status

"""Logging in and out of the pages (/, /login, /logout).

The login form is protected from cross-site posting by a double-submit token: a cookie
set with the form and a hidden field that must match it (there is no session yet).
Checks, failure counting and lockout are the domain's (workflows/org/auth.py).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Response, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.errors import said
from server.ui.common import bp, redirect_with, safe_next
from server.ui.layout import home_for
from workflows.errors import AccountLocked, Unauthenticated
from workflows.org import auth as sign

LOGIN_CSRF_COOKIE = "cadreflow_login_csrf"


def _logged_in_home() -> str | None:
    """The home page of the browser's logged-in user, or None when nobody is logged in."""
    if not request.cookies.get(auth.COOKIE):
        return None
    try:
        with auth.reading() as (_session, principal):
            return home_for(principal.role)
    except Unauthenticated:
        return None


@bp.get("/")
def home() -> Response:
    """The start page: the user's home when logged in, the login page otherwise."""
    return redirect_with(_logged_in_home() or url_for("ui.login"))


def _form(*, username: str = "", errors: dict[str, str] | None = None, status: int = 200) -> Any:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = make_response(
        render_template(
            "login.html",
            username=username,
            errors=errors or {},
            login_csrf=token,
            next=safe_next(request.values.get("next"), default=""),
        ),
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="Lax",
        path="/login",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


@bp.get("/login")
def login() -> Any:
    """The login form (or straight on, for someone already logged in)."""
    home = _logged_in_home()
    if home is not None:
        return redirect_with(safe_next(request.args.get("next"), default=home))
    return _form()


@bp.post("/login")
def login_submit() -> Any:
    """Check the username and password; on success a new session and on to `next`."""
    username = request.form.get("username", "").strip()[:100]
    password = request.form.get("password", "")[:200]
    sent, expected = (
        request.form.get(auth.CSRF_FIELD, ""),
        request.cookies.get(LOGIN_CSRF_COOKIE, ""),
    )
    if not expected or not hmac.compare_digest(sent, expected):
        return _form(username=username, errors={"form": _("页面已过期，请重新登录")}, status=403)
    errors = {}
    if not username:
        errors["username"] = _("请输入用户名")
    if not password:
        errors["password"] = _("请输入密码")
    if errors:
        return _form(username=username, errors=errors, status=422)
    rt = auth.runtime()
    refused: Unauthenticated | None = None
    with auth.signing_in() as session:
        try:
            user = sign.authenticate(
                session, username=username, password=password, ip=auth.client_ip(), clock=rt.clock
            )
        except Unauthenticated as err:  # the failure count must be committed
            refused = err
        else:
            opened = sign.open_session(session, user=user, ip=auth.client_ip(), clock=rt.clock)
            home = home_for(user.role)
    if isinstance(refused, AccountLocked):
        return _form(username=username, errors={"username": said(refused.message)}, status=423)
    if refused is not None:
        return _form(username=username, errors={"password": _("用户名或密码错误")}, status=401)
    response = redirect_with(safe_next(request.form.get("next"), default=home))
    auth.set_session_cookie(
        response, opened.secret, max_age=int(sign.ABSOLUTE_TIMEOUT.total_seconds())
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@bp.post("/logout")
def logout() -> Response:
    """End the session (revoked on the server) and go to the login page."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        caller = auth.caller()
        if caller is not None and caller.session_id is not None:
            sign.close_session(
                session, session_id=caller.session_id, actor=principal.username, clock=rt.clock
            )
    response = redirect_with(url_for("ui.login"), _("已退出登录"), "success")
    auth.clear_session_cookie(response)
    return response

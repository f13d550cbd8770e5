"""Who is calling: a session cookie (browsers) or a bearer token (integrations).

Every API handler reaches the database through `writing()` or `reading()`, which open
the transaction, resolve the caller inside it, check CSRF for cookie-authenticated
writes and tag audit rows with the caller's role, org unit and IP. Authorization of
the objects themselves is the domain's (workflows/access.py).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session

from server import errors, inputs
from workflows import access
from workflows.access import Principal
from workflows.engine import audit, db
from workflows.errors import Forbidden, Unauthenticated
from workflows.messages import t
from workflows.org import auth as login

if TYPE_CHECKING:
    from workflows.runtime import Runtime

COOKIE = "cadreflow_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    principal: Principal
    session_id: str | None  # None when authenticated by a bearer token
    csrf_token: str | None


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["cadreflow"]
    return rt


def client_ip() -> str | None:
    return request.remote_addr


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def identify(session: Session, *, write: bool) -> Caller:
    """The caller of this request, resolved in `session`; Unauthenticated without a valid
    session or token, Forbidden for a cookie-authenticated write without its CSRF token."""
    rt = runtime()
    token = _bearer()
    if token is not None:
        resolved = login.resolve_token(session, secret=token, clock=rt.clock)
    else:
        secret = request.cookies.get(COOKIE)
        if not secret:
            raise Unauthenticated(t("未登录：请先登录"))
        resolved = login.resolve_session(session, secret=secret, clock=rt.clock)
        if write and request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
            if not hmac.compare_digest(sent, resolved.csrf_token or ""):
                raise Forbidden(
                    t("CSRF 校验失败：请刷新页面后重试（请求缺少或带错了 X-CSRF-Token）")
                )
        if resolved.touch and write:
            login.touch_session(session, session_id=resolved.session_id or "", clock=rt.clock)
        elif resolved.touch:
            g.cadreflow_touch = resolved.session_id
    principal = access.principal_of(session, resolved.user)
    caller = Caller(principal, resolved.session_id, resolved.csrf_token)
    g.cadreflow_caller = caller
    return caller


@contextmanager
def signing_in() -> Iterator[Session]:
    """A write transaction for someone not identified yet (logging in), on the clock every
    process shares: a session opened on a stale clock could already be past its end."""
    rt = runtime()
    with rt.transaction() as session, audit.acting(ip=client_ip()):
        yield session


@contextmanager
def writing() -> Iterator[tuple[Session, Principal]]:
    """A write transaction for an authenticated caller; audit rows carry who and from where."""
    rt = runtime()
    with rt.transaction() as session:
        caller = identify(session, write=True)
        p = caller.principal
        with audit.acting(role=p.role, org_unit=p.org_unit, ip=client_ip()):
            yield session, p


@contextmanager
def reading() -> Iterator[tuple[Session, Principal]]:
    """A read-only transaction for an authenticated caller."""
    rt = runtime()
    with rt.reading() as session:
        caller = identify(session, write=False)
        yield session, caller.principal
        also = g.pop("cadreflow_also_read", None)
        if also is not None:  # what the page around the answer reads, in the same transaction
            also(session, caller.principal)


def also_read(read: Callable[[Session, Principal], None]) -> None:
    """Have this request's read transaction (`reading()`) run `read` at its end: what the page
    around the handler's answer shows (its header), without a transaction of its own."""
    g.cadreflow_also_read = read


def caller() -> Caller | None:
    """The caller identified earlier in this request, if any."""
    return g.get("cadreflow_caller")


def set_session_cookie(response: Response, secret: str, *, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax")


def init_app(app: Flask) -> None:
    @app.after_request
    def _touch_and_audit_refusals(response: Response) -> Response:
        rt = runtime()
        touch = g.pop("cadreflow_touch", None)
        try:
            if touch is not None and response.status_code < 400:
                with rt.db.transaction() as session:
                    login.touch_session(session, session_id=touch, clock=rt.clock)
            # A 503 is the database's outage: there is nowhere to write the refusal.
            if (
                request.method not in SAFE_METHODS
                and 400 <= response.status_code != 503
                and request.path.startswith("/api/")
            ):
                _audit_refusal(response)
        except db.ERRORS as err:  # the answer cannot stand without its record
            if not db.unavailable(err):
                raise
            return errors.unavailable(err)
        return response


def _audit_refusal(response: Response) -> None:
    """A refused write leaves its own audit row: its transaction was rolled back."""
    rt = runtime()
    who = caller()
    body = response.get_json(silent=True) or {}
    sent = None if response.status_code == 413 else inputs.sent_json()  # 413: left unread
    actor = (
        who.principal.username
        if who
        else (sent.get("username") if isinstance(sent, dict) else None)
    )
    if not isinstance(actor, str):  # whatever was sent as the username
        actor = "anonymous" if actor is None else json.dumps(actor, ensure_ascii=False)
    by = (
        {"role": who.principal.role, "org_unit": who.principal.org_unit, "ip": client_ip()}
        if who
        else {"ip": client_ip()}
    )
    with rt.transaction() as session:
        audit.record(
            session,
            at=rt.clock.now(),
            actor=_storable(actor or "anonymous")[:100],
            action="api.refused",
            object_type="request",
            object_id=_storable(f"{request.method} {request.path}")[:100],
            detail={
                "result": f"{response.status_code} {body.get('code', '')}".strip(),
                "detail": body.get("detail"),
                "by": by,
            },
        )


def _storable(text: str) -> str:
    """Text as sent, with a NUL (which PostgreSQL cannot store, and the refusal may be about)
    written out."""
    return text.replace("\x00", "\\u0000")

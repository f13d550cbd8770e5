"""Logging in and out, bearer tokens for integrations, and who I am (/api/v1/auth, /me)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, make_response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint
from workflows.errors import Unauthenticated
from workflows.org import auth as login
from workflows.org import service as org
from workflows.org.models import OrgUnit
from workflows.roles import ROLES

blp = Blueprint("auth", __name__, description="登录、令牌与当前用户")


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=200)
    )


class UserSchema(Schema):
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, metadata={"description": "角色代码，如 discipline"})
    role_name = fields.String(required=True, metadata={"description": "角色中文名"})
    org_unit = fields.String(required=True)
    org_unit_name = fields.String(required=True)
    cadre_id = fields.Integer(allow_none=True)
    sees_units = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "可见的单位（本单位及督查、管理人员的下级单位）"},
    )
    csrf_token = fields.String(
        allow_none=True, metadata={"description": "会话写操作须在 X-CSRF-Token 头中带上"}
    )


class SessionSchema(UserSchema):
    expires_at = fields.DateTime(required=True)


class TokenArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=366)
    )


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    token = fields.String(
        required=True, metadata={"description": "只显示这一次；以 Bearer 方式使用"}
    )
    expires_at = fields.DateTime(allow_none=True)


def _me(session: Any, username: str, csrf: str | None) -> dict[str, Any]:
    user = org.user_by_name(session, username)
    unit = session.get(OrgUnit, user.org_unit_code)
    from workflows import access

    principal = access.principal_for(session, username=username)
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_name": ROLES.get(user.role, user.role),
        "org_unit": user.org_unit_code,
        "org_unit_name": unit.name if unit else user.org_unit_code,
        "cadre_id": user.cadre_id,
        "sees_units": sorted(principal.units),
        "csrf_token": csrf,
    }


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, SessionSchema)
def log_in(args: dict[str, Any]) -> Any:
    """Log in with username and password: sets an HttpOnly session cookie (a new id each time).

    Five failed attempts in a row lock the account for 15 minutes (423)."""
    rt = auth.runtime()
    refused: Unauthenticated | None = None
    with auth.signing_in() as session:
        try:
            user = login.authenticate(
                session,
                username=args["username"],
                password=args["password"],
                ip=auth.client_ip(),
                clock=rt.clock,
            )
        except Unauthenticated as err:  # the failure count must be committed
            refused = err
        else:
            opened = login.open_session(session, user=user, ip=auth.client_ip(), clock=rt.clock)
            body = {
                **_me(session, user.username, opened.csrf_token),
                "expires_at": opened.expires_at,
            }
    if refused is not None:
        raise refused
    response = make_response(jsonify(SessionSchema().dump(body)))
    max_age = int(login.ABSOLUTE_TIMEOUT.total_seconds())
    auth.set_session_cookie(response, opened.secret, max_age=max_age)
    response.set_cookie(
        "cadreflow_csrf",
        opened.csrf_token,
        max_age=max_age,
        samesite="Lax",
        secure=bool(auth.current_app.config.get("SESSION_COOKIE_SECURE")),
        path="/",
    )
    return response


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
def log_out() -> Any:
    """End the browser session (revoked on the server, cookie cleared)."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        caller = auth.caller()
        if caller is not None and caller.session_id is not None:
            login.close_session(
                session, session_id=caller.session_id, actor=principal.username, clock=rt.clock
            )
    response = make_response("", 204)
    auth.clear_session_cookie(response)
    response.delete_cookie("cadreflow_csrf", path="/")
    return response


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self) -> Any:
        """My bearer tokens (never their secrets)."""
        with auth.reading() as (session, principal):
            return login.tokens(session, username=principal.username)

    @blp.arguments(TokenArgs)
    @blp.response(201, NewTokenSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Issue a bearer token acting as me, for an integration; the secret is shown once."""
        rt = auth.runtime()
        with auth.writing() as (session, principal):
            new = login.issue_token(
                session,
                username=principal.username,
                name=args["name"],
                days=args.get("days"),
                clock=rt.clock,
            )
        return {"id": new.id, "name": new.name, "token": new.secret, "expires_at": new.expires_at}


@blp.route("/auth/tokens/<int:token_id>/revoke", methods=["POST"])
@blp.response(204)
def revoke_token(token_id: int) -> Any:
    """Revoke one of my tokens; it stops working at once."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        login.revoke_token(session, username=principal.username, token_id=token_id, clock=rt.clock)
    return ""


@blp.route("/me")
@blp.response(200, UserSchema)
def me() -> Any:
    """The logged-in user: role, org unit, the units they see, and the CSRF token."""
    with auth.reading() as (session, principal):
        caller = auth.caller()
        return _me(session, principal.username, caller.csrf_token if caller else None)

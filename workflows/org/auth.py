"""Logging in: password checks with lockout, server-side sessions and bearer tokens.

Secrets leave this module once, at creation; the database keeps only their sha256, so
a copy of the database opens no session. A session ends after 30 idle minutes, 12
hours after login, or at logout; five failed logins in a row lock an account for 15
minutes (counted per account, reset by a successful login).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.engine.models import table_of
from workflows.engine.prepared import Prepared
from workflows.errors import AccountLocked, NotFound, Unauthenticated, ValidationFailed
from workflows.messages import t
from workflows.org import people
from workflows.org import service as org
from workflows.org.models import ApiToken, LoginSession, OrgUnit, User

_SESSIONS = table_of(LoginSession)
_TOKENS = table_of(ApiToken)
_USERS = table_of(User)
_UNITS = table_of(OrgUnit)
# With what names them (people.person_of): a completion answers with its completer's label.
_ACCOUNT = (
    _USERS.c.id.label("user_id"),
    _USERS.c.username,
    _USERS.c.role,
    _USERS.c.org_unit_code,
    _USERS.c.cadre_id,
    _USERS.c.active,
    _USERS.c.display_name,
    _USERS.c.post,
    _UNITS.c.name.label("unit_name"),
)
# Every authenticated request runs one of these: one prepared statement each, session (or
# token) and its user together.
_SESSION_WITH_USER = Prepared(
    "auth.session_with_user",
    select(
        _SESSIONS.c.id,
        _SESSIONS.c.csrf_token,
        _SESSIONS.c.last_seen_at,
        _SESSIONS.c.expires_at,
        _SESSIONS.c.revoked_at,
        *_ACCOUNT,
    )
    .join_from(_SESSIONS, _USERS, _USERS.c.id == _SESSIONS.c.user_id)
    .outerjoin(_UNITS, _UNITS.c.code == _USERS.c.org_unit_code)
    .where(_SESSIONS.c.id == bindparam("sid")),
)
_TOKEN_WITH_USER = Prepared(
    "auth.token_with_user",
    select(_TOKENS.c.expires_at, _TOKENS.c.revoked_at, *_ACCOUNT)
    .join_from(_TOKENS, _USERS, _USERS.c.id == _TOKENS.c.user_id)
    .outerjoin(_UNITS, _UNITS.c.code == _USERS.c.org_unit_code)
    .where(_TOKENS.c.token_hash == bindparam("digest")),
)

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
TOKEN_PREFIX = "cft_"
_WRONG = "用户名或密码错误"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def authenticate(
    session: Session, *, username: str, password: str, ip: str | None, clock: Clock
) -> User:
    """The user if the password is right and the account usable; counts failures, locks at five.

    The caller commits even when this raises, so that a failure is counted."""
    now = clock.now()
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        org.check_password_timing()
        raise Unauthenticated(_WRONG)
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        raise AccountLocked(
            t(
                "连续%(attempts)s次登录失败，账户已锁定，请%(minutes)s分钟后再试",
                attempts=MAX_FAILED_LOGINS,
                minutes=minutes,
            )
        )
    if not org.check_password(user, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        detail = {"failed_logins": user.failed_logins, "ip": ip}
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCK_DURATION
            user.failed_logins = 0
            audit.record(
                session,
                at=now,
                actor=username,
                action="auth.locked",
                object_type="user",
                object_id=user.id,
                detail=detail,
            )
            session.flush()
            raise AccountLocked(
                t(
                    "连续%(attempts)s次登录失败，账户已锁定15分钟",
                    attempts=MAX_FAILED_LOGINS,
                )
            )
        audit.record(
            session,
            at=now,
            actor=username,
            action="auth.failed",
            object_type="user",
            object_id=user.id,
            detail=detail,
        )
        session.flush()
        raise Unauthenticated(_WRONG)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return user


@dataclass(frozen=True)
class NewSession:
    secret: str  # goes into the cookie, never stored
    csrf_token: str
    expires_at: datetime


def open_session(session: Session, *, user: User, ip: str | None, clock: Clock) -> NewSession:
    """A new server-side session (a new id at every login); flushes and audits."""
    now = clock.now()
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = LoginSession(
        id=_digest(secret),
        user_id=user.id,
        csrf_token=csrf,
        ip=ip,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_TIMEOUT,
        revoked_at=None,
    )
    session.add(row)
    audit.record(
        session,
        at=now,
        actor=user.username,
        action="auth.login",
        object_type="user",
        object_id=user.id,
        detail={"ip": ip},
    )
    session.flush()
    return NewSession(secret=secret, csrf_token=csrf, expires_at=row.expires_at)


@dataclass(frozen=True)
class Account:
    """The user behind a session or token, as authorization needs it (read with the session)."""

    id: int
    username: str
    role: str
    org_unit_code: str
    cadre_id: int | None
    active: bool
    person: people.Person  # named: 姓名, 单位, 岗位

    @property
    def label(self) -> str:
        """姓名（单位·岗位）."""
        return self.person.label


@dataclass(frozen=True)
class Resolved:
    user: Account
    username: str
    session_id: str | None  # None for a bearer token
    csrf_token: str | None
    touch: bool  # the session's last-seen time should be written


def resolve_session(session: Session, *, secret: str, clock: Clock) -> Resolved:
    """The user behind a session cookie; Unauthenticated when unknown, idle, expired or revoked."""
    now = clock.now()
    row = _SESSION_WITH_USER.execute(session.connection(), {"sid": _digest(secret)}).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated(t("未登录或会话已结束，请重新登录"))
    last_seen, expires = _aware(row.last_seen_at), _aware(row.expires_at)
    assert last_seen is not None and expires is not None
    if now >= expires or now - last_seen >= IDLE_TIMEOUT:
        raise Unauthenticated(t("会话已过期，请重新登录"))
    if not row.active:
        raise Unauthenticated(t("账户已停用"))
    user = _account(row)
    # Writing last-seen on every request would serialize readers on SQLite; a minute is enough.
    return Resolved(
        user, user.username, row.id, row.csrf_token, touch=now - last_seen > timedelta(minutes=1)
    )


def _account(row: Any) -> Account:
    return Account(
        row.user_id,
        row.username,
        row.role,
        row.org_unit_code,
        row.cadre_id,
        bool(row.active),
        people.person_of(row, row.unit_name),
    )


def touch_session(session: Session, *, session_id: str, clock: Clock) -> None:
    """Moves the idle limit of a live session forward."""
    session.execute(
        update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=clock.now())
    )


def close_session(session: Session, *, session_id: str, actor: str, clock: Clock) -> None:
    """Revokes a session (logout); audits."""
    now = clock.now()
    session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="auth.logout",
        object_type="session",
        object_id=session_id[:12],
    )


@dataclass(frozen=True)
class NewToken:
    id: int
    name: str
    secret: str  # shown once
    expires_at: datetime | None


def issue_token(
    session: Session, *, username: str, name: str, days: int | None, clock: Clock
) -> NewToken:
    """A bearer token for an integration acting as `username`; the secret is returned once."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            t("令牌须有名称"),
            [{"field": "name", "message": t("说明令牌的用途，如“档案系统对接”")}],
        )
    if days is not None and not 1 <= days <= 366:
        raise ValidationFailed(
            t("令牌有效期超出范围"),
            [{"field": "days", "message": t("1 到 366 天，或不填表示长期有效")}],
        )
    user = org.user_by_name(session, username)
    now = clock.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=username,
        action="auth.token_issued",
        object_type="api_token",
        object_id=row.id,
        detail={"name": name, "days": days},
    )
    return NewToken(id=row.id, name=name, secret=secret, expires_at=row.expires_at)


def resolve_token(session: Session, *, secret: str, clock: Clock) -> Resolved:
    """The user behind a bearer token; Unauthenticated when unknown, expired or revoked."""
    row = _TOKEN_WITH_USER.execute(session.connection(), {"digest": _digest(secret)}).first()
    expires = _aware(row.expires_at) if row is not None else None
    if (
        row is None
        or row.revoked_at is not None
        or (expires is not None and clock.now() >= expires)
    ):
        raise Unauthenticated(t("访问令牌无效、已过期或已撤销"))
    if not row.active:
        raise Unauthenticated(t("账户已停用"))
    user = _account(row)
    return Resolved(user, user.username, None, None, touch=False)


def tokens(session: Session, *, username: str) -> list[ApiToken]:
    """A user's tokens, newest first (hashes only)."""
    user = org.user_by_name(session, username)
    return list(
        session.execute(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        ).scalars()
    )


def revoke_token(session: Session, *, username: str, token_id: int, clock: Clock) -> None:
    """Revokes one of the user's own tokens; NotFound for another user's."""
    user = org.user_by_name(session, username)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(t("令牌 %(token_id)s 不存在", token_id=token_id))
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(
            session,
            at=row.revoked_at,
            actor=username,
            action="auth.token_revoked",
            object_type="api_token",
            object_id=row.id,
        )
    session.flush()

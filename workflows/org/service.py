"""Org units, users and jurisdiction (§11): who may see which unit's work."""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.clock import Clock
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t
from workflows.org.models import OrgUnit, User
from workflows.roles import ROLES

#: Verifies any argon2 hash (its cost is read from the hash); new hashes are made by the
#: runtime's hasher, passed in.
_VERIFIER = PasswordHasher()
LEVELS = ("province", "city", "county")


def add_unit(
    session: Session, *, code: str, name: str, level: str, parent_code: str | None = None
) -> OrgUnit:
    """A new org unit under its parent; flushes."""
    if level not in LEVELS:
        raise ValidationFailed(
            t("未知的单位层级"),
            [
                {
                    "field": "level",
                    "message": t("应为以下之一：%(choices)s", choices=", ".join(LEVELS)),
                }
            ],
        )
    if parent_code is not None and session.get(OrgUnit, parent_code) is None:
        raise NotFound(t("单位 %(code)s 不存在", code=parent_code))
    unit = OrgUnit(code=code, name=name, level=level, parent_code=parent_code)
    session.add(unit)
    session.flush()
    return unit


def unit(session: Session, code: str) -> OrgUnit:
    found = session.get(OrgUnit, code)
    if found is None:
        raise NotFound(t("单位 %(code)s 不存在", code=code))
    return found


def unit_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """The names of the units with these codes (codes not found are left out)."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(wanted)))
    return {code: name for code, name in rows}


def subtree(session: Session, code: str) -> list[str]:
    """The unit and every unit below it (a higher supervisor or admin sees these)."""
    codes, frontier = [code], [code]
    while frontier:
        children = list(
            session.execute(select(OrgUnit.code).where(OrgUnit.parent_code.in_(frontier))).scalars()
        )
        codes.extend(children)
        frontier = children
    return codes


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    org_unit_code: str,
    clock: Clock,
    hasher: PasswordHasher,
    cadre_id: int | None = None,
    post: str | None = None,
) -> User:
    """A user with an argon2-hashed password (`post`: their 职务, if any); flushes."""
    if role not in ROLES:
        raise ValidationFailed(
            t("未知的角色"),
            [
                {
                    "field": "role",
                    "message": t("应为以下之一：%(choices)s", choices=", ".join(ROLES)),
                }
            ],
        )
    if len(password) < 8:
        raise ValidationFailed(
            t("密码太短"), [{"field": "password", "message": t("至少 8 个字符")}]
        )
    unit(session, org_unit_code)
    user = User(
        username=username,
        display_name=display_name,
        post=post or None,
        password_hash=hasher.hash(password),
        role=role,
        org_unit_code=org_unit_code,
        cadre_id=cadre_id,
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str, *, hasher: PasswordHasher) -> None:
    """Replaces the user's password by an argon2 hash of a new one of at least 8 characters."""
    if len(password) < 8:
        raise ValidationFailed(
            t("密码太短"), [{"field": "password", "message": t("至少 8 个字符")}]
        )
    user.password_hash = hasher.hash(password)


_DUMMY_HASH: str | None = None


def check_password_timing() -> None:
    """Spends a password check's time on an unknown user, so timing does not tell who exists."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _VERIFIER.hash("cadreflow-no-such-user")
    try:
        _VERIFIER.verify(_DUMMY_HASH, "wrong")
    except VerificationError:
        pass


def check_password(user: User, password: str) -> bool:
    try:
        return _VERIFIER.verify(user.password_hash, password)
    except VerificationError:
        return False


def user_by_name(session: Session, username: str) -> User:
    found = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if found is None:
        raise NotFound(t("用户 %(username)s 不存在", username=username))
    return found

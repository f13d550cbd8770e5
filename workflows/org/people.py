"""People by name (DOMAIN.md §6): every person a page, an export or the API shows is
姓名（单位·岗位） — the user's 姓名 (`display_name`), their org unit's name and their 职务
(`post`), or their role's Chinese name while no 职务 is set.

Records keep usernames (they are the ids the writes and the audit trail use); views name them
here, a whole page at a time with one query. Actors that are not users — the scheduler, the
command line, the demo loader — get a Chinese label of their own, and a username no longer
known is shown as it was recorded rather than failing the read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows.engine.models import table_of
from workflows.engine.prepared import Prepared
from workflows.org.models import OrgUnit, User
from workflows.roles import ROLES

#: The actors of the audit trail that are no person, as people read them.
SYSTEM_ACTORS: dict[str, str] = {
    "scheduler": "系统（定时任务）",
    "system": "系统",
    "cli": "系统（命令行）",
    "demo": "系统（演示数据）",
    "anonymous": "未登录的访问者",
}
#: The longest 姓名 and 职务 an administrator may enter.
NAME_MAX, POST_MAX = 50, 100


@dataclass(frozen=True)
class Person:
    """A user as people see them, and the username a form or an API body sends."""

    username: str
    name: str  # 姓名
    unit_name: str  # 单位
    post: str  # 岗位: the 职务, else the role's Chinese name
    role: str
    org_unit: str
    active: bool

    @property
    def label(self) -> str:
        """姓名（单位·岗位）."""
        return label_text(self.name, self.unit_name, self.post)


def label_text(name: str, unit_name: str, post: str) -> str:
    """姓名（单位·岗位） from its parts."""
    return f"{name}（{unit_name}·{post}）"


def post_of(user_post: str | None, role: str) -> str:
    """岗位: the user's 职务 if set, else their role's Chinese name."""
    return (user_post or "").strip() or ROLES.get(role, role)


def people(session: Session, usernames: Iterable[str | None]) -> dict[str, Person]:
    """The users among `usernames` (others left out), named, with one query."""
    wanted = sorted({name for name in usernames if name})
    if not wanted:
        return {}
    rows = session.execute(_PEOPLE, {"usernames": wanted}).all()
    return {row.username: person_of(row, row.unit_name) for row in rows}


#: What naming a user reads of them (columns, not the mapped object: a label is read often).
_NAMING = (User.username, User.display_name, User.org_unit_code, User.post, User.role, User.active)
_PEOPLE = (
    select(*_NAMING, OrgUnit.name.label("unit_name"))
    .outerjoin(OrgUnit, OrgUnit.code == User.org_unit_code)
    .where(User.username.in_(bindparam("usernames", expanding=True)))
)


class UserLike(Protocol):
    """What `person_of` reads of a user: a `User`, or a row of its columns."""

    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def org_unit_code(self) -> str: ...
    @property
    def post(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def active(self) -> bool: ...


def person_of(user: UserLike, unit_name: str | None) -> Person:
    """A user already read, with their unit's name (None: the unit's code stands in)."""
    return Person(
        username=user.username,
        name=user.display_name,
        unit_name=unit_name or user.org_unit_code,
        post=post_of(user.post, user.role),
        role=user.role,
        org_unit=user.org_unit_code,
        active=bool(user.active),
    )


_U, _UNITS = table_of(User), table_of(OrgUnit)
#: One user's label, asked on every completion (the API names who completed).
_ONE = Prepared(
    "people.one",
    select(
        _U.c.username,
        _U.c.display_name,
        _U.c.org_unit_code,
        _U.c.post,
        _U.c.role,
        _U.c.active,
        _UNITS.c.name.label("unit_name"),
    )
    .outerjoin(_UNITS, _UNITS.c.code == _U.c.org_unit_code)
    .where(_U.c.username == bindparam("username")),
)


def person(session: Session, username: str) -> Person | None:
    """One user, named (None for no such user), with one statement."""
    row = _ONE.execute(session.connection(), {"username": username}).first()
    return person_of(row, row.unit_name) if row is not None else None


def label_of(session: Session, username: str) -> str:
    """One username's label (a user, a system actor, or as recorded), one statement."""
    found = person(session, username)
    return found.label if found is not None else fallback(username)


def labels(session: Session, usernames: Iterable[str | None]) -> Labels:
    """The labels of `usernames` (users, system actors, unknown ones as recorded), one query."""
    listed = list(usernames)
    return Labels({name: person.label for name, person in people(session, listed).items()})


class Labels(Mapping[str, str]):
    """Usernames to labels; asking for any other name gives its fallback, never a KeyError."""

    def __init__(self, found: Mapping[str, str]) -> None:
        self._found = dict(found)

    def __getitem__(self, username: str) -> str:
        return self._found.get(username) or fallback(username)

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def of(self, username: str | None) -> str | None:
        """The label of `username`, None for None (nobody: an unclaimed task)."""
        return None if not username else self[username]


def fallback(username: str) -> str:
    """How an actor who is no known user is shown: the system's own in Chinese, else as recorded."""
    return SYSTEM_ACTORS.get(username, username)


def label(session: Session, username: str | None) -> str | None:
    """One person's label (a single lookup; lists use `labels`)."""
    return label_of(session, username) if username else None

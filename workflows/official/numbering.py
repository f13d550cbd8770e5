"""文号 (document numbers) per org unit: the numbering setting (发文机关, 机关代字 per kind, 抄送)
and the counter that gives each number once.

A number is `{prefix}〔{year}〕{seq}号` (e.g. 皖纪问〔2026〕12号). The counter is one row per
unit, prefix and year, advanced by a single INSERT … ON CONFLICT DO UPDATE … RETURNING in the
caller's write transaction: PostgreSQL locks the row until that transaction ends, SQLite holds
its database write lock, so two decisions never get one number, and a transaction that rolls
back gives its number back (no gap is committed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflows.access import Principal, check_may_administer
from workflows.engine import audit, settings
from workflows.engine.clock import Clock
from workflows.engine.models import table_of
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t
from workflows.official import kinds
from workflows.official.models import OfficialNumberCounter
from workflows.org.models import OrgUnit

SETTING = "official_documents.numbering"
PREFIX_MAX = 20
ORGAN_MAX = 100
COPY_TO_MAX = 300


@dataclass(frozen=True)
class Numbering:
    """How one unit numbers and signs its documents."""

    org_unit_code: str
    organ: str
    prefixes: dict[str, str]  # kind → 机关代字
    copy_to: str
    configured: bool  # False: every value is the default


def of_unit(session: Session, org_unit_code: str) -> Numbering:
    """The unit's numbering: its setting, or defaults built from the unit's name."""
    unit = session.get(OrgUnit, org_unit_code)
    if unit is None:
        raise NotFound(t("单位 %(org_unit_code)s 不存在", org_unit_code=org_unit_code))
    stored: dict[str, Any] = settings.get(session, SETTING, {}).get(org_unit_code) or {}
    prefixes = {
        key: str(stored.get("prefixes", {}).get(key) or f"{unit.name}{kind.code}")
        for key, kind in kinds.KINDS.items()
        if kind.code
    }
    return Numbering(
        org_unit_code=unit.code,
        organ=str(stored.get("organ") or f"中共{unit.name}委员会"),
        prefixes=prefixes,
        copy_to=str(stored.get("copy_to") or ""),
        configured=bool(stored),
    )


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])


def _text(value: Any, field: str, what: str, limit: int, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise _refuse(field, t("请填写%(what)s", what=what))
    if len(text) > limit:
        raise _refuse(
            field,
            t(
                "%(what)s不能超过 %(limit)s 个字（现有 %(count)s 个）",
                what=what,
                limit=limit,
                count=len(text),
            ),
        )
    if any(c in text for c in "\x00\r\n〔〕"):
        raise _refuse(field, t("%(what)s不能包含换行、空字符或六角括号〔〕", what=what))
    return text


def administered(session: Session, *, principal: Principal, org_unit_code: str) -> Numbering:
    """A unit's numbering, for an administrator of it or a unit above (Forbidden for other
    roles, NotFound for a unit out of their sight)."""
    check_may_administer(principal)
    if org_unit_code not in principal.units:
        raise NotFound(t("单位 %(org_unit_code)s 不存在", org_unit_code=org_unit_code))
    return of_unit(session, org_unit_code)


def put(
    session: Session,
    *,
    principal: Principal,
    org_unit_code: str,
    organ: Any,
    prefixes: Any,
    copy_to: Any,
    clock: Clock,
) -> Numbering:
    """Sets a unit's numbering, by its administrators (as `administered`), ValidationFailed
    naming the field; audited; flushes. Numbers already given keep their prefix; a new prefix
    starts its own count at 1."""
    administered(session, principal=principal, org_unit_code=org_unit_code)
    checked_organ = _text(organ, "organ", "发文机关", ORGAN_MAX, required=True)
    if not isinstance(prefixes, dict):
        raise _refuse("prefixes", t("机关代字须按文书种类给出"))
    numbered = {key for key, kind in kinds.KINDS.items() if kind.code}
    unknown = sorted(set(prefixes) - numbered)
    if unknown:
        raise _refuse(
            f"prefixes.{unknown[0]}",
            t(
                "没有这种编文号的文书：%(unknown)s；可为 %(choices)s",
                unknown=unknown[0],
                choices="、".join(sorted(numbered)),
            ),
        )
    checked = {
        key: _text(
            value,
            f"prefixes.{key}",
            f"{kinds.KINDS[key].title}的机关代字",
            PREFIX_MAX,
            required=True,
        )
        for key, value in prefixes.items()
    }
    stored = dict(settings.get(session, SETTING, {}))
    stored[org_unit_code] = {
        "organ": checked_organ,
        "prefixes": checked,
        "copy_to": _text(copy_to, "copy_to", "抄送机关", COPY_TO_MAX, required=False),
    }
    settings.put(session, SETTING, stored)
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action="official_numbering.put",
        object_type="org_unit",
        object_id=org_unit_code,
        detail=stored[org_unit_code],
    )
    return of_unit(session, org_unit_code)


def allocate(session: Session, *, org_unit_code: str, prefix: str, year: int) -> int:
    """The next sequence number of this unit, prefix and year (1 for the first)."""
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    table = table_of(OfficialNumberCounter)
    statement = (
        insert(table)
        .values(org_unit_code=org_unit_code, prefix=prefix, year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=["org_unit_code", "prefix", "year"],
            set_={"last_seq": table.c.last_seq + 1},
        )
        .returning(table.c.last_seq)
    )
    return int(conn.execute(statement).scalar_one())


def number_for(prefix: str, year: int, seq: int) -> str:
    """皖纪问〔2026〕12号."""
    return f"{prefix}〔{year}〕{seq}号"

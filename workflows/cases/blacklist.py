"""The dishonesty blacklist 失信"黑名单" (§12, DOMAIN.md §2.5 step 4, §5).

An entry names the person, the case it rests on, the date and the reviewer. Entries
are never updated or deleted: taking a person off the list is a new entry whose
`removes_entry_id` points at the entry it removes, so the register always shows who
was listed, on what basis, and who lifted it when. The ORM refuses updates and deletes
of entries (`_refuse_change` below); the database-level triggers belong in a migration.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from workflows.clock import Clock
from workflows.errors import DomainError, ValidationFailed

from .models import BlacklistEntry, CaseFile

RULE_BASIS = "§12 失信黑名单须有依据案件"
RULE_REVIEWER = "§12 失信黑名单须载明审核人"
RULE_REASON = "§12 失信黑名单须载明理由"
RULE_PERSON = "§12 失信黑名单须载明人员姓名"
RULE_NO_CHANGE = "§12 失信黑名单条目不得修改或删除，移出须另行登记"


def _refused(rule: str, field: str, detail: str = "") -> ValidationFailed:
    return ValidationFailed(f"{rule}{'：' + detail if detail else ''}", [{"field": field, "message": rule}])


def add_entry(session: Session, *, person_name: str, basis_case_id: int | None, reviewer: str,
              reason: str, entered_on: date, clock: Clock,
              removes_entry_id: int | None = None) -> BlacklistEntry:
    """Adds an entry (or, with `removes_entry_id`, a removal of one); flushes."""
    if basis_case_id is None:
        raise _refused(RULE_BASIS, "basis_case_id")
    if session.get(CaseFile, basis_case_id) is None:
        raise _refused(RULE_BASIS, "basis_case_id", f"案件 {basis_case_id} 不存在")
    if not (reviewer or "").strip():
        raise _refused(RULE_REVIEWER, "reviewer")
    if not (reason or "").strip():
        raise _refused(RULE_REASON, "reason")
    name = (person_name or "").strip()
    if removes_entry_id is not None:
        removed = session.get(BlacklistEntry, removes_entry_id)
        if removed is None or removed.removes_entry_id is not None:
            raise _refused("§12 移出失信黑名单须指向在册条目", "removes_entry_id",
                           f"条目 {removes_entry_id} 不存在")
        earlier = removal_of(session, removes_entry_id)
        if earlier is not None:
            raise _refused("§12 失信黑名单条目只能移出一次", "removes_entry_id",
                           f"条目 {removes_entry_id} 已于 {earlier.entered_on} 由 {earlier.reviewer} 移出")
        if name and name != removed.person_name:
            raise _refused("§12 移出失信黑名单须与原条目为同一人", "person_name",
                           f"条目 {removes_entry_id} 登记的是 {removed.person_name}")
        name = removed.person_name
    if not name:
        raise _refused(RULE_PERSON, "person_name")
    entry = BlacklistEntry(person_name=name, basis_case_id=basis_case_id, entered_on=entered_on,
                           reviewer=reviewer.strip(), reason=reason.strip(),
                           removes_entry_id=removes_entry_id, recorded_at=clock.now())
    session.add(entry)
    session.flush()
    return entry


def removal_of(session: Session, entry_id: int) -> BlacklistEntry | None:
    """The entry that removed `entry_id`, if any."""
    return session.execute(
        select(BlacklistEntry).where(BlacklistEntry.removes_entry_id == entry_id)
    ).scalars().first()


def current(session: Session) -> list[BlacklistEntry]:
    """Entries in force: listings not followed by a removal, oldest first."""
    removed = select(BlacklistEntry.removes_entry_id).where(BlacklistEntry.removes_entry_id.is_not(None))
    return list(session.execute(
        select(BlacklistEntry).where(BlacklistEntry.removes_entry_id.is_(None),
                                     BlacklistEntry.id.not_in(removed))
        .order_by(BlacklistEntry.id)
    ).scalars())


def register(session: Session) -> list[BlacklistEntry]:
    """Every entry ever made, listings and removals, in order."""
    return list(session.execute(select(BlacklistEntry).order_by(BlacklistEntry.id)).scalars())


def listed(session: Session, person_name: str) -> bool:
    """Whether the person has an entry in force."""
    return any(entry.person_name == person_name for entry in current(session))


class BlacklistChangeRefused(DomainError):
    code = "blacklist_append_only"


@event.listens_for(BlacklistEntry, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: BlacklistEntry) -> None:
    # The ORM calls this for every dirty object, also without net changes: check them.
    state = inspect(target)
    if any(attr.history.has_changes() for attr in state.attrs):
        raise BlacklistChangeRefused(RULE_NO_CHANGE)


@event.listens_for(BlacklistEntry, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, _target: BlacklistEntry) -> None:
    raise BlacklistChangeRefused(RULE_NO_CHANGE)

"""The dishonesty blacklist 失信"黑名单" (§12, DOMAIN.md §2.5 step 4, §5).

An entry names the person, the case it rests on, the date and the reviewer. Entries
are never updated or deleted (§5): taking a person off the list is a new entry whose
`removes_entry_id` points at the entry it removes, and correcting an entry (更正) is a new
listing whose `corrects_entry_id` points at the entry it supersedes, with the reason and
the reviewer of the correction. So the register always shows who was listed, on what
basis, what was corrected and why, and who lifted it when. Only an entry in force — a
listing neither removed nor corrected — may be removed or corrected; a correction may
itself be corrected, so corrections form a chain. The ORM refuses updates and deletes of
entries (`_refuse_update` below); the database triggers are migration 0003's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows.cases.models import BlacklistEntry, CaseFile
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from workflows.messages import t
from workflows.org.models import OrgUnit, User
from workflows.roles import ROLES

if TYPE_CHECKING:  # workflows.access imports the case packages: no import cycle at run time
    from workflows.access import Principal

RULE_BASIS = "§12 失信黑名单须有依据案件"
RULE_REVIEWER = "§12 失信黑名单须载明审核人"
RULE_REASON = "§12 失信黑名单须载明理由"
RULE_PERSON = "§12 失信黑名单须载明人员姓名"
RULE_NO_CHANGE = "§12 失信黑名单条目不得修改或删除，移出须另行登记"
RULE_CORRECTION_REASON = "§5 更正失信黑名单条目须载明更正理由"
RULE_CORRECTION_REVIEWER = "§5 更正失信黑名单条目须载明审核人"
RULE_CORRECTION_CHANGES = "更正须至少改正一项：姓名、依据案件、列入日期或列入理由"

#: Who corrects an entry (更正): the organization clerks (组织部门) of the unit holding its basis case.
CORRECTING_ROLES = ("organization",)
#: Who may be named as a correction's reviewer (审核人): an active organization or discipline
#: user of the unit holding the (corrected) basis case, other than the clerk correcting.
REVIEWER_ROLES = ("organization", "discipline")
NAME_MAX = 200
REASON_MAX = 2000
#: Row ids are 32-bit: a larger id names nothing.
_MAX_ID = 2**31 - 1


def _refused(rule: str, field: str, detail: str = "") -> ValidationFailed:
    return ValidationFailed(
        f"{rule}{'：' + detail if detail else ''}", [{"field": field, "message": rule}]
    )


def add_entry(
    session: Session,
    *,
    person_name: str,
    basis_case_id: int | None,
    reviewer: str,
    reason: str,
    entered_on: date,
    clock: Clock,
    removes_entry_id: int | None = None,
) -> BlacklistEntry:
    """Adds an entry (or, with `removes_entry_id`, a removal of one); flushes."""
    if basis_case_id is None:
        raise _refused(RULE_BASIS, "basis_case_id")
    if session.get(CaseFile, basis_case_id) is None:
        raise _refused(
            RULE_BASIS,
            "basis_case_id",
            t("案件 %(basis_case_id)s 不存在", basis_case_id=basis_case_id),
        )
    if not (reviewer or "").strip():
        raise _refused(RULE_REVIEWER, "reviewer")
    if not (reason or "").strip():
        raise _refused(RULE_REASON, "reason")
    name = (person_name or "").strip()
    if removes_entry_id is not None:
        removed = _locked(session, removes_entry_id)
        if removed is None or removed.removes_entry_id is not None:
            raise _refused(
                t("§12 移出失信黑名单须指向在册条目"),
                "removes_entry_id",
                t("条目 %(removes_entry_id)s 不存在", removes_entry_id=removes_entry_id),
            )
        earlier = removal_of(session, removes_entry_id)
        if earlier is not None:
            raise _refused(
                t("§12 失信黑名单条目只能移出一次"),
                "removes_entry_id",
                t(
                    "条目 %(removes_entry_id)s 已于 %(entered_on)s 由 %(reviewer)s 移出",
                    removes_entry_id=removes_entry_id,
                    entered_on=earlier.entered_on,
                    reviewer=earlier.reviewer,
                ),
            )
        superseding = correction_of(session, removes_entry_id)
        if superseding is not None:
            raise _refused(
                t("§12 移出失信黑名单须指向在册条目"),
                "removes_entry_id",
                t(
                    "条目 %(removes_entry_id)s 已由第 %(id)s 条更正，应移出第 %(id)s 条",
                    removes_entry_id=removes_entry_id,
                    id=superseding.id,
                ),
            )
        if name and name != removed.person_name:
            raise _refused(
                t("§12 移出失信黑名单须与原条目为同一人"),
                "person_name",
                t(
                    "条目 %(removes_entry_id)s 登记的是 %(person_name)s",
                    removes_entry_id=removes_entry_id,
                    person_name=removed.person_name,
                ),
            )
        name = removed.person_name
    if not name:
        raise _refused(RULE_PERSON, "person_name")
    entry = BlacklistEntry(
        person_name=name,
        basis_case_id=basis_case_id,
        entered_on=entered_on,
        reviewer=reviewer.strip(),
        reason=reason.strip(),
        removes_entry_id=removes_entry_id,
        recorded_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    return entry


def removal_of(session: Session, entry_id: int) -> BlacklistEntry | None:
    """The entry that removed `entry_id`, if any."""
    return (
        session.execute(select(BlacklistEntry).where(BlacklistEntry.removes_entry_id == entry_id))
        .scalars()
        .first()
    )


def correction_of(session: Session, entry_id: int) -> BlacklistEntry | None:
    """The entry that corrected (superseded) `entry_id`, if any."""
    return (
        session.execute(select(BlacklistEntry).where(BlacklistEntry.corrects_entry_id == entry_id))
        .scalars()
        .first()
    )


def current(session: Session) -> list[BlacklistEntry]:
    """Entries in force: listings followed by neither a removal nor a correction, oldest first."""
    removed = select(BlacklistEntry.removes_entry_id).where(
        BlacklistEntry.removes_entry_id.is_not(None)
    )
    corrected = select(BlacklistEntry.corrects_entry_id).where(
        BlacklistEntry.corrects_entry_id.is_not(None)
    )
    return list(
        session.execute(
            select(BlacklistEntry)
            .where(
                BlacklistEntry.removes_entry_id.is_(None),
                BlacklistEntry.id.not_in(removed),
                BlacklistEntry.id.not_in(corrected),
            )
            .order_by(BlacklistEntry.id)
        ).scalars()
    )


def register(session: Session) -> list[BlacklistEntry]:
    """Every entry ever made, listings, corrections and removals, in order."""
    return list(session.execute(select(BlacklistEntry).order_by(BlacklistEntry.id)).scalars())


def listed(session: Session, person_name: str) -> bool:
    """Whether the person has an entry in force."""
    return any(entry.person_name == person_name for entry in current(session))


# --- corrections (更正) -------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """The corrected fields of an entry; None keeps the entry's value."""

    person_name: str | None = None
    basis_case_id: int | None = None
    entered_on: date | None = None
    listing_reason: str | None = None  # why the person is listed (列入理由)


def may_correct(principal: Principal) -> bool:
    """Whether the principal's role corrects entries (within their jurisdiction: see `correct_entry`)."""
    return principal.role in CORRECTING_ROLES


def check_may_correct(principal: Principal) -> None:
    """Only organization clerks correct entries (within their jurisdiction: see `correct_entry`)."""
    if not may_correct(principal):
        raise Forbidden(
            t(
                "更正失信黑名单条目须由%(choices)s办理：%(username)s 是%(role)s人员",
                choices="、".join(ROLES[r] for r in CORRECTING_ROLES),
                username=principal.username,
                role=ROLES.get(principal.role, principal.role),
            )
        )


def correctable(session: Session, entry: BlacklistEntry) -> str | None:
    """Why `entry` may not be corrected (a removal, removed, already corrected), or None."""
    removal = superseding = None
    if entry.removes_entry_id is None:
        removal = removal_of(session, entry.id)
        superseding = correction_of(session, entry.id) if removal is None else None
    return uncorrectable(
        entry.id,
        removes_entry_id=entry.removes_entry_id,
        removed_by=(removal.id, removal.entered_on) if removal is not None else None,
        corrected_by=superseding.id if superseding is not None else None,
    )


def uncorrectable(
    entry_id: int,
    *,
    removes_entry_id: int | None,
    removed_by: tuple[int, date] | None,
    corrected_by: int | None,
) -> str | None:
    """Why entry `entry_id` may not be corrected, from what became of it — a removal record
    (`removes_entry_id`), removed (by which entry, on which day), corrected (by which entry) —
    or None while it is in force."""
    if removes_entry_id is not None:
        return t(
            "第 %(entry_id)s 条是移出第 %(removes_entry_id)s 条的记录，移出记录不能更正",
            entry_id=entry_id,
            removes_entry_id=removes_entry_id,
        )
    if removed_by is not None:
        return t(
            "第 %(entry_id)s 条已由第 %(removing_entry)s 条于 %(removed_on)s 移出，不能更正",
            entry_id=entry_id,
            removing_entry=removed_by[0],
            removed_on=removed_by[1],
        )
    if corrected_by is not None:
        return t(
            "第 %(entry_id)s 条已由第 %(corrected_by)s 条更正：只能更正现行的第 %(corrected_by)s 条",
            entry_id=entry_id,
            corrected_by=corrected_by,
        )
    return None


def correct_entry(
    session: Session,
    *,
    principal: Principal,
    entry_id: int,
    reviewer: str,
    reason: str,
    changes: Changes,
    clock: Clock,
) -> BlacklistEntry:
    """A new listing superseding entry `entry_id` with the corrected fields, naming its reviewer
    and why; the original stays as it was. Audited on the basis case's timeline; flushes.

    Forbidden unless the principal is an organization clerk; NotFound for an entry whose basis
    case is outside their units; ValidationFailed naming each field otherwise refused."""
    check_may_correct(principal)
    original = _visible(session, principal, entry_id)
    why_not = correctable(session, original)
    if why_not is not None:
        raise _refused(why_not, "entry_id")
    errors: list[dict[str, str]] = []

    def problem(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    why = (reason or "").strip()
    if not why:
        problem("reason", RULE_CORRECTION_REASON)
    elif len(why) > REASON_MAX:
        problem("reason", t("更正理由不能超过 %(limit)s 个字", limit=REASON_MAX))
    name = original.person_name if changes.person_name is None else changes.person_name.strip()
    if not name:
        problem("person_name", RULE_PERSON)
    elif len(name) > NAME_MAX:
        problem("person_name", t("姓名不能超过 %(limit)s 个字", limit=NAME_MAX))
    listing_reason = (
        original.reason if changes.listing_reason is None else changes.listing_reason.strip()
    )
    if not listing_reason:
        problem("listing_reason", RULE_REASON)
    elif len(listing_reason) > REASON_MAX:
        problem("listing_reason", t("列入理由不能超过 %(limit)s 个字", limit=REASON_MAX))
    entered_on = original.entered_on if changes.entered_on is None else changes.entered_on
    if entered_on > clock.today():
        problem(
            "entered_on",
            t(
                "列入日期 %(entered_on)s 晚于今日 %(today)s",
                entered_on=entered_on,
                today=clock.today(),
            ),
        )
    basis = session.get(CaseFile, original.basis_case_id)  # it exists: a foreign key, and visible
    assert basis is not None
    if changes.basis_case_id is not None and changes.basis_case_id != original.basis_case_id:
        found = _case_in(session, principal, changes.basis_case_id)
        if found is None:
            problem(
                "basis_case_id",
                t(
                    "%(rule)s：案件 %(basis_case_id)s 不存在",
                    rule=RULE_BASIS,
                    basis_case_id=changes.basis_case_id,
                ),
            )
        basis = found or basis
    refused_reviewer = _reviewer(session, principal, (reviewer or "").strip(), basis)
    if refused_reviewer is not None:
        problem("reviewer", refused_reviewer)
    after = {
        "person_name": name,
        "basis_case_id": basis.id,
        "entered_on": entered_on,
        "reason": listing_reason,
    }
    before = {
        "person_name": original.person_name,
        "basis_case_id": original.basis_case_id,
        "entered_on": original.entered_on,
        "reason": original.reason,
    }
    changed = {
        key: {"from": before[key], "to": value}
        for key, value in after.items()
        if value != before[key]
    }
    if not errors and not changed:
        problem("(body)", RULE_CORRECTION_CHANGES)
    if errors:
        raise ValidationFailed(
            t(
                "更正失信黑名单第 %(id)s 条未予登记：%(message)s",
                id=original.id,
                message=errors[0]["message"],
            ),
            errors,
        )
    entry = BlacklistEntry(
        person_name=name,
        basis_case_id=basis.id,
        entered_on=entered_on,
        reviewer=reviewer.strip(),
        reason=listing_reason,
        corrects_entry_id=original.id,
        correction_reason=why,
        recorded_at=clock.now(),
    )
    session.add(entry)
    try:
        session.flush()
    except (
        IntegrityError
    ) as err:  # the unique index: someone corrected it first (the lock makes this rare)
        raise Conflict(
            t("失信黑名单第 %(id)s 条刚刚已被更正，请刷新后查看", id=original.id)
        ) from err
    _audit_correction(session, principal, original, entry, changed, clock)
    return entry


def reviewers(session: Session, *, principal: Principal, case_id: int) -> list[User]:
    """Who may review a correction of an entry resting on case `case_id`, by name."""
    case = _case_in(session, principal, case_id)
    if case is None:
        return []
    return list(
        session.execute(
            select(User)
            .where(
                User.role.in_(REVIEWER_ROLES),
                User.org_unit_code == case.org_unit_code,
                User.active.is_(True),
                User.username != principal.username,
            )
            .order_by(User.role.desc(), User.display_name, User.username)
        ).scalars()
    )


def _visible(session: Session, principal: Principal, entry_id: int) -> BlacklistEntry:
    """The entry, locked, if its basis case is in the principal's units; NotFound otherwise."""
    entry = _locked(session, entry_id)
    if entry is None or _case_in(session, principal, entry.basis_case_id) is None:
        raise NotFound(t("失信黑名单第 %(entry_id)s 条不存在", entry_id=entry_id))
    return entry


def _locked(session: Session, entry_id: int) -> BlacklistEntry | None:
    """The entry read under a row lock (PostgreSQL; SQLite writes one at a time), so a removal
    and a correction of one entry never both pass their checks."""
    if not 0 < entry_id <= _MAX_ID:
        return None
    return session.execute(
        select(BlacklistEntry).where(BlacklistEntry.id == entry_id).with_for_update()
    ).scalar_one_or_none()


def _case_in(session: Session, principal: Principal, case_id: int) -> CaseFile | None:
    if not 0 < case_id <= _MAX_ID:
        return None
    case = session.get(CaseFile, case_id)
    return case if case is not None and case.org_unit_code in principal.units else None


def _reviewer(session: Session, principal: Principal, username: str, basis: CaseFile) -> str | None:
    """Why `username` may not review this correction, or None."""
    if not username:
        return RULE_CORRECTION_REVIEWER
    if username == principal.username:
        return t("审核人不能是更正人本人")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        return t("审核人 %(username)s 不存在或已停用", username=username)
    unit = session.get(OrgUnit, basis.org_unit_code)
    wanted = f"{unit.name if unit else basis.org_unit_code}的{'或'.join(ROLES[r] for r in REVIEWER_ROLES)}人员"
    if user.role not in REVIEWER_ROLES or user.org_unit_code != basis.org_unit_code:
        return t(
            "审核人须为%(wanted)s：%(username)s 是%(role)s人员",
            wanted=wanted,
            username=username,
            role=ROLES.get(user.role, user.role),
        )
    return None


def _audit_correction(
    session: Session,
    principal: Principal,
    original: BlacklistEntry,
    entry: BlacklistEntry,
    changed: dict[str, dict[str, Any]],
    clock: Clock,
) -> None:
    """One row on the timeline of each basis case involved (the old one and, if changed, the new)."""
    detail = {
        "entry_id": entry.id,
        "corrects_entry_id": original.id,
        "reviewer": entry.reviewer,
        "correction_reason": entry.correction_reason,
        "changes": changed,
    }
    for case_id in dict.fromkeys((original.basis_case_id, entry.basis_case_id)):
        case = session.get(CaseFile, case_id)
        audit.record(
            session,
            at=clock.now(),
            actor=principal.username,
            action="blacklist.correct",
            object_type="blacklist_entry",
            object_id=entry.id,
            instance_id=case.instance_id if case else None,
            detail={**detail, "case_number": case.number if case else None},
        )


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

"""The read side of the dishonesty blacklist 失信"黑名单" (§12, DOMAIN.md §2.5, §5), beside
views.py: the register a page at a time, one entry with its chain of corrections, and whom
a correction may name as its reviewer — typed, frozen views for the API, the pages and the
CLI.

Each entry is shown with what became of it — removed (移出), corrected (更正, by which entry
and why) or in force — and whether the principal may correct it, by the rules that guard
the write (workflows/cases/blacklist.py: `may_correct`, `uncorrectable`). Readers see the
entries whose basis case their units hold; anyone else is refused (403), an entry out of
scope is missing (404).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session, aliased

from workflows import textsearch
from workflows.access import Principal
from workflows.cases import blacklist
from workflows.cases.models import BlacklistEntry, CaseFile
from workflows.errors import Forbidden, NotFound
from workflows.messages import t
from workflows.org import people as org_people
from workflows.org.models import User
from workflows.org.people import Person
from workflows.paging import Page, paginate
from workflows.roles import ROLES

#: Roles that read the blacklist (§2.5.4), each within their jurisdiction.
READERS = ("discipline", "organization", "supervisor", "admin")
#: What became of an entry.
IN_FORCE, REMOVED, CORRECTED, REMOVAL = "in_force", "removed", "corrected", "removal"
STATUS_NAMES = {IN_FORCE: "在册", REMOVED: "已移出", CORRECTED: "已更正", REMOVAL: "移出记录"}
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class EntryView:
    """One entry of the register and what became of it."""

    id: int
    person_name: str
    basis_case_id: int
    basis_case_number: str
    entered_on: date
    reviewer: str  # as recorded: a username
    reviewer_name: str  # 姓名（单位·岗位） when the reviewer is a user, else as recorded
    reason: str  # why listed (a removal: why removed)
    removes_entry_id: int | None
    removed_by_entry_id: int | None
    removed_on: date | None
    corrects_entry_id: int | None
    correction_reason: str | None  # this entry, a correction: why it corrected the other
    corrected_by_entry_id: int | None
    corrected_at: datetime | None
    corrected_because: str | None  # this entry, corrected: why
    recorded_at: datetime
    status: str
    may_correct: bool

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    @property
    def removed(self) -> bool:
        return self.removed_by_entry_id is not None

    @property
    def corrected(self) -> bool:
        return self.corrected_by_entry_id is not None


def check_may_read(principal: Principal) -> None:
    """Only discipline, organization, supervisors and administrators read the blacklist."""
    if not may_read(principal):
        raise Forbidden(
            t(
                "失信黑名单仅供%(choices)s查阅：%(username)s 是%(role)s人员",
                choices="、".join(ROLES[r] for r in READERS),
                username=principal.username,
                role=ROLES.get(principal.role, principal.role),
            )
        )


def may_read(principal: Principal) -> bool:
    return principal.role in READERS


def _rows(
    principal: Principal, *, text: str | None = None, current: bool | None = None
) -> Select[Any]:
    """Entries (listings, corrections and removals) whose basis case the principal's units hold,
    newest first, with the basis case number and the removal or correction that followed, if
    any. `current`: True only entries in force, False only the others."""
    check_may_read(principal)
    removal, correction = aliased(BlacklistEntry), aliased(BlacklistEntry)
    query = cast(
        Select[Any],
        (
            select(
                BlacklistEntry,
                CaseFile.number.label("basis_case_number"),
                removal.id.label("removed_by_entry_id"),
                removal.entered_on.label("removed_on"),
                correction.id.label("corrected_by_entry_id"),
                correction.recorded_at.label("corrected_at"),
                correction.correction_reason.label("corrected_because"),
            )
            .join(CaseFile, CaseFile.id == BlacklistEntry.basis_case_id)
            .outerjoin(removal, removal.removes_entry_id == BlacklistEntry.id)
            .outerjoin(correction, correction.corrects_entry_id == BlacklistEntry.id)
            .where(CaseFile.org_unit_code.in_(sorted(principal.units)))
        ),
    )
    found = textsearch.matching(text, BlacklistEntry.person_name)
    if found is not None:
        query = query.where(found)
    if current is True:
        query = query.where(
            BlacklistEntry.removes_entry_id.is_(None), removal.id.is_(None), correction.id.is_(None)
        )
    elif current is False:
        query = query.where(
            or_(
                BlacklistEntry.removes_entry_id.is_not(None),
                removal.id.is_not(None),
                correction.id.is_not(None),
            )
        )
    return query.order_by(BlacklistEntry.id.desc())


def entry_page(
    session: Session,
    *,
    principal: Principal,
    text: str | None = None,
    current: bool | None = None,
    page: int,
    per_page: int,
) -> Page[EntryView]:
    """Page `page` of the register as the principal reads it (Forbidden for a role that reads
    none): their units' entries, newest first, found by name; `current` True only entries in
    force, False only the others."""
    found = paginate(
        session,
        _rows(principal, text=text, current=current),
        page=page,
        per_page=per_page,
        key=BlacklistEntry.id,
    )
    return Page(_views(session, principal, found.items), found.page, found.per_page, found.total)


def _views(session: Session, principal: Principal, found: Sequence[Row[Any]]) -> list[EntryView]:
    """Rows of `_rows` as views, reviewers named and the principal's actions computed."""
    names = org_people.people(session, (row.BlacklistEntry.reviewer for row in found))
    corrects = blacklist.may_correct(principal)
    shown = []
    for row in found:
        e: BlacklistEntry = row.BlacklistEntry
        removed_by = (
            (row.removed_by_entry_id, row.removed_on)
            if row.removed_by_entry_id is not None
            else None
        )
        status = (
            REMOVAL
            if e.removes_entry_id is not None
            else REMOVED
            if removed_by is not None
            else CORRECTED
            if row.corrected_by_entry_id is not None
            else IN_FORCE
        )
        in_force = (
            blacklist.uncorrectable(
                e.id,
                removes_entry_id=e.removes_entry_id,
                removed_by=removed_by,
                corrected_by=row.corrected_by_entry_id,
            )
            is None
        )
        shown.append(
            EntryView(
                id=e.id,
                person_name=e.person_name,
                basis_case_id=e.basis_case_id,
                basis_case_number=row.basis_case_number,
                entered_on=e.entered_on,
                reviewer=e.reviewer,
                reviewer_name=names[e.reviewer].label if e.reviewer in names else e.reviewer,
                reason=e.reason,
                removes_entry_id=e.removes_entry_id,
                removed_by_entry_id=row.removed_by_entry_id,
                removed_on=row.removed_on,
                corrects_entry_id=e.corrects_entry_id,
                correction_reason=e.correction_reason,
                corrected_by_entry_id=row.corrected_by_entry_id,
                corrected_at=row.corrected_at,
                corrected_because=row.corrected_because,
                recorded_at=e.recorded_at,
                status=status,
                may_correct=corrects and in_force,
            )
        )
    return shown


def entry(session: Session, *, principal: Principal, entry_id: int) -> EntryView:
    """One entry the principal may read; NotFound when its basis case is out of their units."""
    check_may_read(principal)
    if 0 < entry_id <= _MAX_ID:
        found = session.execute(_rows(principal).where(BlacklistEntry.id == entry_id)).all()
        if found:
            return _views(session, principal, found)[0]
    raise NotFound(t("失信黑名单第 %(entry_id)s 条不存在", entry_id=entry_id))


def history(session: Session, *, principal: Principal, entry_id: int) -> list[EntryView]:
    """The entry's chain of corrections, oldest first: the listing it started as, each correction,
    and the one in force or removed last (those the principal may read)."""
    first = entry(session, principal=principal, entry_id=entry_id)
    ids = [first.id]
    back = first.corrects_entry_id
    while back is not None and back not in ids:
        ids.insert(0, back)
        back = session.execute(
            select(BlacklistEntry.corrects_entry_id).where(BlacklistEntry.id == back)
        ).scalar_one_or_none()
    ahead = blacklist.correction_of(session, first.id)
    while ahead is not None and ahead.id not in ids:
        ids.append(ahead.id)
        ahead = blacklist.correction_of(session, ahead.id)
    found = session.execute(_rows(principal).where(BlacklistEntry.id.in_(ids))).all()
    return sorted(_views(session, principal, found), key=lambda view: view.id)


def reviewers(session: Session, *, principal: Principal, entry: EntryView) -> list[Person]:
    """Whom a correction of `entry` may name as its reviewer (empty unless the principal may
    correct it): organization and discipline users of its basis case's unit, by name."""
    if not entry.may_correct:
        return []
    found = blacklist.reviewers(session, principal=principal, case_id=entry.basis_case_id)
    return _labelled(session, found)


@dataclass(frozen=True)
class EntryDetailView(EntryView):
    """One entry with its chain of corrections and, when the principal may correct it, whom the
    correction may name as its reviewer."""

    history: tuple[EntryView, ...]  # oldest first, this entry among them
    reviewers: tuple[Person, ...]


def entry_detail(session: Session, *, principal: Principal, entry_id: int) -> EntryDetailView:
    """One entry the principal may read (NotFound otherwise), its chain and its reviewers."""
    shown = entry(session, principal=principal, entry_id=entry_id)
    return EntryDetailView(
        **vars(shown),
        history=tuple(history(session, principal=principal, entry_id=shown.id)),
        reviewers=tuple(reviewers(session, principal=principal, entry=shown)),
    )


def basis_case_id(session: Session, *, principal: Principal, number: str) -> int | None:
    """The id of the case numbered `number` in the principal's units — a basis a correction may
    name — or None."""
    found = session.execute(
        select(CaseFile.id).where(
            CaseFile.number == number, CaseFile.org_unit_code.in_(sorted(principal.units))
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


def _labelled(session: Session, users: Sequence[User]) -> list[Person]:
    named = org_people.people(session, (user.username for user in users))
    return [named[user.username] for user in users if user.username in named]

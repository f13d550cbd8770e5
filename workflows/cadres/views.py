"""The read side of cadre records (干部档案): the cadres a principal sees a page at a time, one
cadre's record — promotion bans with their end (§6), tolerance notes (§12), the cases about
them that the principal sees — whether they may be promoted on a day, and the cadres a case
may be about (the 当事干部 list of the form that opens one). Typed, frozen views with units
named, for the API, the pages and the CLI.

Scoped by workflows/access.py (`cadre_scope`): the cadres of the units a principal sees, and
their own record; anything else is missing (NotFound). A cadre reading their own record sees
the bans and tolerance notes of decisions served on them, as served (workflows/cases/served.py):
a ban decided but not yet served, or changed by an appeal not yet served, reads as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workflows import access, textsearch
from workflows.access import Principal
from workflows.cadres import service as cadres
from workflows.cadres.models import Cadre, PromotionBan
from workflows.cases import served, tolerance
from workflows.cases import views as case_views
from workflows.cases.models import CaseFile
from workflows.cases.tolerance import ToleranceNote
from workflows.cases.views import CaseView
from workflows.org import service as org
from workflows.org.models import OrgUnit
from workflows.paging import Page, count_of, paginate

BAN_STATUS_NAMES = {
    "active": "有效",
    "revoked": "已撤销",
    "changed": "已变更",
    "superseded": "已退回作废",
}
#: How many of a cadre's cases their record lists.
RECORD_CASES = 500


@dataclass(frozen=True)
class CadreView:
    """A cadre as lists show them: post and managing unit (干部管理权限), named."""

    id: int
    name: str
    post: str
    org_unit: str
    org_unit_name: str


def _rows(principal: Principal, *, text: str | None = None) -> Select[Any]:
    """Cadres the principal sees, by name, with their org unit's name."""
    query = cast(
        Select[Any],
        select(Cadre, OrgUnit.name.label("org_unit_name"))
        .join(OrgUnit, OrgUnit.code == Cadre.org_unit_code)
        .where(access.cadre_scope(principal)),
    )
    found = textsearch.matching(text, Cadre.name, Cadre.post)
    if found is not None:
        query = query.where(found)
    return query.order_by(Cadre.name, Cadre.id)


def _view(cadre: Cadre, org_unit_name: str | None) -> CadreView:
    return CadreView(
        cadre.id, cadre.name, cadre.post, cadre.org_unit_code, org_unit_name or cadre.org_unit_code
    )


def cadre_page(
    session: Session, *, principal: Principal, text: str | None = None, page: int, per_page: int
) -> Page[CadreView]:
    """Page `page` of the cadres the principal sees (a cadre: themself), by name; `text` finds
    a name or post."""
    found = paginate(
        session, _rows(principal, text=text), page=page, per_page=per_page, key=Cadre.id
    )
    return found.map(lambda row: _view(row.Cadre, row.org_unit_name))


def cadre(session: Session, *, principal: Principal, cadre_id: int) -> CadreView:
    """One cadre the principal sees (NotFound otherwise)."""
    found = access.get_cadre(session, principal, cadre_id)
    return _view(found, org.unit_names(session, [found.org_unit_code]).get(found.org_unit_code))


# --- one cadre's record ----------------------------------------------------------------------


@dataclass(frozen=True)
class BanView:
    """A promotion ban (§6): the adjustment that carries it, its span and standing, named."""

    id: int
    adjustment: str
    adjustment_name: str
    starts_on: date
    ends_on: date  # promotion possible again from this day
    status: str  # active, revoked, changed
    status_name: str
    in_force: bool  # on the day the record is read
    case_id: int
    case_number: str
    note: str


@dataclass(frozen=True)
class CadreRecordView(CadreView):
    """A cadre's record: promotion bans, tolerance notes, and the cases about them the
    principal sees (newest first)."""

    bans: tuple[BanView, ...]
    tolerance_notes: tuple[ToleranceNote, ...]
    cases: tuple[CaseView, ...]


def _in_force(ban: PromotionBan, on: date, status: str | None = None) -> bool:
    return (status or ban.status) == "active" and ban.starts_on <= on < ban.ends_on


def _as_read(
    session: Session, principal: Principal, bans: list[PromotionBan]
) -> list[tuple[PromotionBan, str]]:
    """(ban, its status) as the principal reads them: all as they are for officials; for a
    cadre, those of decisions served on them, with the standing as served."""
    if principal.role != "cadre":
        return [(ban, ban.status) for ban in bans]
    cases = session.execute(
        select(CaseFile).where(CaseFile.id.in_({ban.case_id for ban in bans}))
    ).scalars()
    standings = served.standings(session, cases)
    shown = []
    for ban in bans:
        standing = standings.get(ban.case_id)
        if standing is None or ban.decision_id not in standing.effective:
            continue
        as_served = standing.effective[ban.decision_id] == "effective"
        shown.append((ban, "active" if as_served else ban.status))
    return shown


def _case_numbers(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        case_id: number
        for case_id, number in session.execute(
            select(CaseFile.id, CaseFile.number).where(CaseFile.id.in_(ids))
        )
    }


def cadre_record(
    session: Session, *, principal: Principal, cadre_id: int, today: date, now: datetime
) -> CadreRecordView:
    """A cadre's record if visible (NotFound otherwise): promotion bans, tolerance notes and the
    cases about them that the principal sees."""
    shown = cadre(session, principal=principal, cadre_id=cadre_id)
    bans = _as_read(session, principal, cadres.bans(session, cadre_id=shown.id))
    numbers = _case_numbers(session, {b.case_id for b, _ in bans})
    notes = tolerance.tolerance_notes(session, cadre_id=shown.id)
    if principal.role == "cadre":
        seen = {case.number: case for case in _served_cases(session, principal, shown.id)}
        notes = [n for n in notes if n.case_number in seen and seen[n.case_number].served]
    found = case_views.case_list(
        session,
        principal=principal,
        filters=case_views.CaseFilters(cadre_id=shown.id),
        now=now,
        limit=RECORD_CASES,
    )
    return CadreRecordView(
        **vars(shown),
        bans=tuple(
            BanView(
                id=b.id,
                adjustment=b.adjustment,
                adjustment_name=cadres.ADJUSTMENT_NAMES.get(b.adjustment, b.adjustment),
                starts_on=b.starts_on,
                ends_on=b.ends_on,
                status=status,
                status_name=BAN_STATUS_NAMES.get(status, status),
                in_force=_in_force(b, today, status),
                case_id=b.case_id,
                case_number=numbers.get(b.case_id, ""),
                note=b.note or "",
            )
            for b, status in bans
        ),
        tolerance_notes=tuple(notes),
        cases=tuple(found),
    )


@dataclass(frozen=True)
class EligibilityView:
    """Whether the cadre may be promoted on a day, else until when and because of which cases."""

    cadre_id: int
    name: str
    on: date
    eligible: bool
    until: date | None  # promotion possible again from this day
    because: tuple[str, ...]  # case numbers
    message: str


def promotion_eligibility(
    session: Session, *, principal: Principal, cadre_id: int, on: date
) -> EligibilityView:
    """Eligible for promotion on `on`, or not until a date because of which cases (§6); for a
    cadre the principal sees (NotFound otherwise)."""
    found = access.get_cadre(session, principal, cadre_id)
    if principal.role == "cadre":
        return _own_eligibility(session, principal, found, on)
    answer = cadres.eligibility(session, cadre_id=found.id, on=on)
    if answer.eligible:
        return EligibilityView(
            found.id, found.name, on, True, None, (), f"{found.name}于 {on} 不受提拔限制"
        )
    in_force = sorted(
        (b for b in cadres.bans(session, cadre_id=found.id) if _in_force(b, on)),
        key=lambda b: b.ends_on,
        reverse=True,
    )
    numbers = _case_numbers(session, {b.case_id for b in in_force})
    because = tuple(
        dict.fromkeys(
            n for n in [answer.case_number, *(numbers.get(b.case_id) for b in in_force)] if n
        )
    )
    return EligibilityView(
        found.id,
        found.name,
        on,
        False,
        answer.until,
        because,
        f"{found.name}在 {answer.until} 之前不得提拔：因案件 {'、'.join(because)}"
        f"（{answer.reason}）",
    )


@dataclass(frozen=True)
class _Served:
    number: str
    served: bool


def _served_cases(session: Session, principal: Principal, cadre_id: int) -> list[_Served]:
    """The cadre's cases with whether anything was served on them (for their own record)."""
    cases = list(session.execute(select(CaseFile).where(CaseFile.cadre_id == cadre_id)).scalars())
    standings = served.standings(session, cases)
    return [_Served(case.number, bool(standings[case.id].served)) for case in cases]


def _own_eligibility(
    session: Session, principal: Principal, found: Cadre, on: date
) -> EligibilityView:
    """A cadre asking about themself: from the bans of decisions served on them."""
    in_force = sorted(
        (
            ban
            for ban, status in _as_read(session, principal, cadres.bans(session, cadre_id=found.id))
            if _in_force(ban, on, status)
        ),
        key=lambda b: b.ends_on,
        reverse=True,
    )
    if not in_force:
        return EligibilityView(
            found.id, found.name, on, True, None, (), f"{found.name}于 {on} 不受提拔限制"
        )
    numbers = _case_numbers(session, {b.case_id for b in in_force})
    because = tuple(dict.fromkeys(numbers[b.case_id] for b in in_force))
    latest = in_force[0]
    reason = (
        f"{cadres.ADJUSTMENT_NAMES[latest.adjustment]}，自 {latest.starts_on} 起不得提拔，"
        f"至 {latest.ends_on}"
    )
    return EligibilityView(
        found.id,
        found.name,
        on,
        False,
        latest.ends_on,
        because,
        f"{found.name}在 {latest.ends_on} 之前不得提拔：因案件 {'、'.join(because)}（{reason}）",
    )


# --- the cadres a case may be about ----------------------------------------------------------


@dataclass(frozen=True)
class CadreChoices:
    """What a list of cadres to choose from offers: (id, label) in name order, the selected
    cadre first when the search leaves it out; how many cadres match the search."""

    options: tuple[tuple[str, str], ...]
    total: int
    text: str
    limit: int

    @property
    def unlisted(self) -> int:
        """Matching cadres beyond the list's length."""
        return max(0, self.total - self.limit)


def cadre_choices(
    session: Session,
    *,
    principal: Principal,
    text: str = "",
    selected: int | None = None,
    limit: int,
) -> CadreChoices:
    """The cadres a case may be about — those of the units in the principal's jurisdiction, not
    their own record as such — whose name or post contains `text`, at most `limit` of them;
    the cadre `selected` stays listed."""
    in_units = Cadre.org_unit_code.in_(sorted(principal.units))
    query = _rows(principal, text=text).where(in_units)
    total = count_of(session, query, key=Cadre.id)
    rows = list(session.execute(query.limit(limit)))
    if selected is not None and all(row.Cadre.id != selected for row in rows):
        kept = session.execute(_rows(principal).where(in_units, Cadre.id == selected)).first()
        rows[:0] = [kept] if kept is not None else []
    return CadreChoices(
        tuple(
            (str(row.Cadre.id), f"{row.Cadre.name}（{row.Cadre.post}，{row.org_unit_name}）")
            for row in rows
        ),
        total,
        text,
        limit,
    )

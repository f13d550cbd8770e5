"""Cases opened on people's request (DOMAIN.md §1, §2): who may open which kind of case,
about whom and with which start data; and what may be filed against an open case —
an appeal (申诉) or an exemption application (免责申请).

The tables below are the policy. A role the table does not name is refused (Forbidden);
a cadre or case outside the caller's jurisdiction is treated as missing (NotFound), as
everywhere (workflows/access.py). Each function audits what it opened and flushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cadres.models import Cadre
from workflows.cases import accountability, clarification, rectification, tolerance
from workflows.cases import appeal as appeals
from workflows.cases import service as cases
from workflows.cases.models import CaseFile
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.errors import Forbidden, NotFound, ValidationFailed
from workflows.messages import t
from workflows.org.models import OrgUnit
from workflows.roles import ROLES

#: The start-data key that says how a case of each kind came about.
ORIGIN_KEYS = {
    "accountability": "source",
    "rectification": "basis",
    "clarification": "trigger",
    "tolerance_review": "applicant",
}
#: The values each origin key may take: the processes' own vocabularies.
ORIGINS: dict[str, Mapping[str, str]] = {
    "accountability": accountability.SOURCES,
    "rectification": rectification.BASES,
    "clarification": clarification.TRIGGERS,
    "tolerance_review": tolerance.APPLICANTS,
}

#: Who may open which kind of case directly, and with which origins (None: any the process knows).
#:
#: | kind             | role         | origins                        | why                        |
#: |------------------|--------------|--------------------------------|----------------------------|
#: | accountability   | discipline   | any finding source             | §2.1.2 立案                  |
#: | accountability   | organization | any finding source             | §2.1.2                     |
#: | rectification    | discipline   | accountability decision (1st)  | §2.4.5 issuer verifies     |
#: | rectification    | organization | tolerance decision             | §2.4.5 issuer verifies     |
#: | clarification    | discipline   | any trigger                    | §2.5.2 verifies the report |
#: | clarification    | organization | any trigger                    | §1 organization clarifies  |
#: | clarification    | unit         | request of the unit            | §2.5.1 the unit asks       |
#: | clarification    | cadre        | request of the cadre (own)     | §2.5.1 the cadre asks      |
#: | tolerance_review | discipline   | application, unit or cadre     | §2.2.1 its clerks register |
#: | tolerance_review | organization | application, unit or cadre     | §1 handles applications    |
#: | tolerance_review | unit         | application of the unit        | §2.2.1                     |
#: | tolerance_review | cadre        | application of the cadre (own) | §2.2.1                     |
#:
#: An appeal is filed against the case it appeals (`file_appeal`), never opened directly; a
#: tolerance review referred by an accountability case is opened by that process.
OPENERS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "accountability": {"discipline": None, "organization": None},
    "rectification": {
        "discipline": ("accountability", "first_form"),
        "organization": ("tolerance",),
    },
    "clarification": {
        "discipline": None,
        "organization": None,
        "unit": ("unit_request",),
        "cadre": ("cadre_request",),
    },
    "tolerance_review": {
        "discipline": None,
        "organization": None,
        "unit": ("unit",),
        "cadre": ("cadre",),
    },
}
#: The start data each kind accepts; anything else (deadline settings, the case's identity)
#: is the system's to set.
START_FIELDS: dict[str, tuple[str, ...]] = {
    "accountability": ("source", "facts", "evidence", "registered_on"),
    "rectification": ("basis", "requirements", "deadline", "issued_by"),
    "clarification": ("trigger", "report", "related_case_id"),
    "tolerance_review": ("applicant", "reasons", "facts"),
}
#: Kinds whose subject may be a person not on the cadre register (an accuser is pursued by
#: the clarification process itself).
NAMED_SUBJECT_KINDS = ("clarification",)

#: Who files an appeal (§2.3.1): the cadre concerned, or the managing unit's discipline or
#: organization clerks registering the cadre's written appeal.
APPELLANTS = {
    "cadre": "干部本人",
    "discipline": "纪检监察机关（登记书面申诉）",
    "organization": "组织部门（登记书面申诉）",
}
#: Who files an exemption application against an open accountability case (§2.1.4, §2.2.1),
#: and as which applicant (None: the clerk names the applicant of the written application).
EXEMPTION_FILERS: dict[str, str | None] = {
    "unit": "unit",
    "cadre": "cadre",
    "discipline": None,
    "organization": None,
}


def _role_name(role: str) -> str:
    return ROLES.get(role, role)


def _names(roles: Mapping[str, Any] | tuple[str, ...]) -> str:
    return "、".join(_role_name(role) for role in roles)


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])


def _start_data(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(START_FIELDS[kind]))
    if unknown:
        raise ValidationFailed(
            t(
                "%(kind)s案件不接受这些启动数据：%(items)s",
                kind=cases.KIND_NAMES[kind],
                items="、".join(unknown),
            ),
            [{"field": key, "message": t("不接受的字段")} for key in unknown],
        )
    return {
        key: value.isoformat() if isinstance(value, date) else value for key, value in data.items()
    }


def _origin(principal: Principal, kind: str, start: dict[str, Any]) -> None:
    allowed = OPENERS[kind][principal.role]
    if allowed is None:
        return
    key = ORIGIN_KEYS[kind]
    value = start.get(key)
    if value is None and len(allowed) == 1:
        start[key] = allowed[0]
    elif isinstance(value, str) and value in ORIGINS[kind] and value not in allowed:
        raise Forbidden(
            t(
                "%(role)s不能以“%(value)s”启动%(kind)s：只能以%(items)s启动",
                role=_role_name(principal.role),
                value=ORIGINS[kind][value],
                kind=cases.KIND_NAMES[kind],
                items="、".join(ORIGINS[kind][a] for a in allowed),
            )
        )
    # An unknown value is left to the process's start action, which names the field.


def _subject(
    session: Session,
    principal: Principal,
    kind: str,
    *,
    cadre_id: int | None,
    person_name: str | None,
    org_unit: str | None,
) -> tuple[cases.Subject, str]:
    if principal.role == "cadre":
        if person_name:
            raise _refuse("subject_name", t("干部本人只能就本人提出"))
        cadre_id = principal.cadre_id if cadre_id is None else cadre_id
    if cadre_id is not None:
        if person_name:
            raise _refuse(
                "subject_name", t("当事干部（cadre_id）与当事人姓名（subject_name）只填一项")
            )
        cadre = session.get(Cadre, cadre_id) if 0 < cadre_id <= access.MAX_ID else None
        if cadre is None or not (
            cadre.id == principal.cadre_id
            if principal.role == "cadre"
            else cadre.org_unit_code in principal.units
        ):
            raise NotFound(t("干部 %(cadre_id)s 不存在", cadre_id=cadre_id))
        return cases.Subject(cadre_id=cadre_id), cadre.name
    if not (person_name or "").strip():
        raise _refuse("cadre_id", t("须指明当事干部"))
    if kind not in NAMED_SUBJECT_KINDS:
        raise _refuse(
            "cadre_id", t("%(kind)s案件须针对在册干部：请选择当事干部", kind=cases.KIND_NAMES[kind])
        )
    if not org_unit:
        raise _refuse("org_unit", t("当事人不是在册干部时，须指明管辖单位"))
    if org_unit not in principal.units or session.get(OrgUnit, org_unit) is None:
        raise NotFound(t("单位 %(org_unit)s 不存在", org_unit=org_unit))
    name = (person_name or "").strip()
    return cases.Subject(name=name, org_unit_code=org_unit), name


def openable_kinds(principal: Principal) -> list[str]:
    """The kinds of case the principal's role may open (OPENERS), in the table's order."""
    return [kind for kind, openers in OPENERS.items() if principal.role in openers]


def check_may_open(principal: Principal, kind: str) -> None:
    """ValidationFailed for a kind nobody opens directly; Forbidden unless OPENERS names the role."""
    if kind == "appeal":
        raise _refuse("process", t("§11 申诉针对已作出的决定：请在原案件上提出申诉"))
    if kind not in OPENERS:
        raise _refuse("process", t("可登记的案件种类：%(items)s", items="、".join(OPENERS)))
    openers = OPENERS[kind]
    if kind not in openable_kinds(principal):
        raise Forbidden(
            t(
                "%(role)s人员不能登记%(kind)s案件：由%(names)s登记",
                role=_role_name(principal.role),
                kind=cases.KIND_NAMES[kind],
                names=_names(openers),
            )
        )


def open_on_request(
    session: Session,
    *,
    principal: Principal,
    kind: str,
    data: Mapping[str, Any],
    clock: Clock,
    cadre_id: int | None = None,
    person_name: str | None = None,
    org_unit: str | None = None,
    title: str | None = None,
) -> CaseFile:
    """Opens a case of `kind` if OPENERS lets the principal's role (Forbidden otherwise), about a
    subject within their jurisdiction (NotFound otherwise), with start data its process accepts
    (ValidationFailed naming the field otherwise); audited; flushes."""
    check_may_open(principal, kind)
    start = _start_data(kind, data)
    _origin(principal, kind, start)
    subject, name = _subject(
        session, principal, kind, cadre_id=cadre_id, person_name=person_name, org_unit=org_unit
    )
    if kind == "clarification" and start.get("related_case_id") is not None:
        related = start["related_case_id"]
        if isinstance(related, bool) or not isinstance(related, int):
            raise _refuse("related_case_id", t("应为案件 id"))
        access.get_case(session, principal, related)  # a case out of sight does not exist
    if kind == "tolerance_review":
        start["origin"] = "application"
    if kind == "rectification":
        start.setdefault("issued_by", principal.username)
        if start.get("deadline") not in (None, ""):
            rectification.check_deadline(
                start, "deadline", clock
            )  # §12, as the issuing step checks it
    trigger = (
        start.get("trigger") if kind == "clarification" else None
    )  # the others' actions set it
    case = cases.open_case(
        session,
        kind=kind,
        subject=subject,
        title=(title or "").strip() or f"{name}{cases.KIND_NAMES[kind]}",
        data=start,
        actor=principal.username,
        clock=clock,
        source=trigger if trigger in ORIGINS[kind] else None,
        origin=start.get(ORIGIN_KEYS[kind]),
    )
    return case


def appellant_refusal(principal: Principal, case: CaseFile) -> str | None:
    """Why the principal may not file an appeal against `case` (a case they see), or None: the
    cadre concerned, or the clerks of APPELLANTS in the case's managing unit. Whether the window
    is open is the appeal's own rule (`appeal.file_appeal`)."""
    if principal.role not in APPELLANTS:
        return t(
            "§11 申诉由干部本人提出，或由管辖单位的纪检监察机关、组织部门登记书面申诉：%(username)s 是%(role)s人员",
            username=principal.username,
            role=_role_name(principal.role),
        )
    if principal.role != "cadre" and principal.org_unit != case.org_unit_code:
        return t(
            "§11 书面申诉由案件管辖单位 %(org_unit_code)s 登记", org_unit_code=case.org_unit_code
        )
    return None


def exemption_filer_refusal(principal: Principal, case: CaseFile) -> str | None:
    """Why the principal may not apply for exemption against `case` (a case they see), or None:
    the unit or the cadre, or the clerks of EXEMPTION_FILERS in the case's managing unit."""
    if principal.role not in EXEMPTION_FILERS:
        return t(
            "§11 免责申请由所在单位或干部本人提出：%(username)s 是%(role)s人员",
            username=principal.username,
            role=_role_name(principal.role),
        )
    if principal.role != "cadre" and principal.org_unit != case.org_unit_code:
        return t(
            "§11 免责申请向案件管辖单位 %(org_unit_code)s 提出", org_unit_code=case.org_unit_code
        )
    return None


def may_apply_for_exemption(principal: Principal, case: CaseFile) -> bool:
    """Whether `exemption_on_request` would take the principal's application against `case` now:
    an open accountability case, and a filer EXEMPTION_FILERS lets apply."""
    return (
        accountability.exemption_closed(case) is None
        and exemption_filer_refusal(principal, case) is None
    )


def appeal_on_request(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    grounds: str,
    filed_on: date,
    clock: Clock,
) -> CaseFile:
    """申诉 against a case the principal sees (NotFound otherwise), by an APPELLANTS role
    (Forbidden otherwise), within the window (`file_appeal` refuses, naming filed_on);
    audited on both cases; flushes."""
    original = access.get_case(session, principal, case_id)
    refused = appellant_refusal(principal, original)
    if refused is not None:
        raise Forbidden(refused)
    case = appeals.file_appeal(
        session,
        original_case_id=original.id,
        grounds=grounds,
        filed_on=filed_on,
        actor=principal.username,
        clock=clock,
    )
    now = clock.now()
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="case.appeal",
        object_type="case",
        object_id=original.id,
        instance_id=original.instance_id,
        detail={"case_number": case.number, "filed_on": filed_on.isoformat()},
    )
    return case


def exemption_on_request(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    reasons: str,
    clock: Clock,
    applicant: str | None = None,
    facts: str | None = None,
) -> CaseFile:
    """免责申请 while an accountability case the principal sees is open (NotFound if not seen), by
    the unit or the cadre, or registered by the managing unit's clerks (Forbidden for others): a
    linked tolerance review; audited on both cases; flushes."""
    case = access.get_case(session, principal, case_id)
    refused = exemption_filer_refusal(principal, case)
    if refused is not None:
        raise Forbidden(refused)
    fixed = EXEMPTION_FILERS[principal.role]
    if fixed is not None:
        if applicant not in (None, fixed):
            raise Forbidden(
                t(
                    "§11 %(role)s只能以%(applicant)s名义申请免责",
                    role=_role_name(principal.role),
                    applicant=tolerance.APPLICANTS[fixed],
                )
            )
        applicant = fixed
    elif applicant is None:
        raise _refuse("applicant", t("登记书面免责申请须注明申请人：unit 所在单位、cadre 干部本人"))
    review = accountability.apply_for_exemption(
        session,
        case_id=case.id,
        applicant=applicant,
        reasons=reasons,
        facts=facts,
        actor=principal.username,
        clock=clock,
    )
    now = clock.now()
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="case.exemption_application",
        object_type="case",
        object_id=case.id,
        instance_id=case.instance_id,
        detail={"case_number": review.number, "applicant": applicant},
    )
    return review

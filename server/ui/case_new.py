"""登记案件 (/cases/new): opening a case from the web — 立案 of an accountability case, a
rectification, a clarification, or an exemption application (容错免责) — by whoever the
domain's table lets open it, about a cadre in their jurisdiction, with the start data its
process takes.

The policy is workflows/cases/intake.py (OPENERS, ORIGINS, START_FIELDS): the page offers
only what it allows, reads the form, and opens the case through `intake.open_on_request`
as the API does. Bad input re-renders the form (422) with each message beside its field
and every value kept; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from server import auth
from server.errors import said
from server.ui import form_errors
from server.ui.common import bp, redirect_with
from server.ui.layout import ROLE_LABELS
from workflows.access import Principal
from workflows.cadres import views as cadre_views
from workflows.cadres.views import CadreChoices
from workflows.cases import intake
from workflows.cases import service as cases
from workflows.cases import views as case_views
from workflows.errors import Forbidden, NotFound, ValidationFailed
from workflows.org import service as org

#: Roles whose openings are applications (申请) about a cadre, not registrations (立案) by a clerk.
APPLICANT_ROLES = frozenset({"unit", "cadre"})
#: What each kind is for, under its name in the chooser.
KIND_HINTS = {
    "accountability": _l("巡视巡察、环保督查、审计、考核、信访举报等发现的问题线索"),
    "rectification": _l("依据问责决定、容错免责决定或第一种形态，责令限期整改"),
    "clarification": _l("为受到不实反映的干部澄清正名"),
    "tolerance_review": _l("所在单位或干部本人提出的免责申请"),
}
#: The label of each kind's origin (intake.ORIGIN_KEYS).
ORIGIN_LABELS = {
    "accountability": _l("问题线索来源"),
    "rectification": _l("整改依据"),
    "clarification": _l("启动方式"),
    "tolerance_review": _l("申请人"),
}
MAX_TEXT = 20_000
#: The longest text the fields outside INPUTS take (the columns that keep them).
LIMITS = {"subject_name": 200, "title": 400}


@dataclass(frozen=True)
class Input:
    """One start-data field of a kind (intake.START_FIELDS) as the form asks for it."""

    key: str
    label: Any  # a lazy gettext string
    widget: str  # textarea, date, text, or case (a case number, sent as the case's id)
    required: bool = False
    help: Any = None
    today: bool = False  # prefilled with today's date
    max_length: int = MAX_TEXT


#: The start fields of each kind besides its origin, in the order the form shows them.
INPUTS: dict[str, tuple[Input, ...]] = {
    "accountability": (
        Input("facts", _l("问题事实"), "textarea", required=True),
        Input(
            "evidence",
            _l("证据材料"),
            "textarea",
            required=True,
            help=_l("写明证据材料的名称、文号，如审计报告、巡视反馈意见"),
        ),
        Input(
            "registered_on",
            _l("立案日期"),
            "date",
            today=True,
            help=_l("责任调查期限自此日起算；留空为登记之日"),
        ),
    ),
    "rectification": (
        Input("requirements", _l("纠错整改要求"), "textarea", required=True),
        Input(
            "deadline",
            _l("整改期限"),
            "date",
            required=True,
            help=_l("整改完成报告须在此日期前报送"),
        ),
        Input("issued_by", _l("决定机关"), "text", help=_l("留空为登记人"), max_length=100),
    ),
    "clarification": (
        Input("report", _l("所反映的问题"), "textarea", required=True),
        Input(
            "related_case_id",
            _l("所涉案件编号"),
            "case",
            help=_l("案件办理中发现不实反映的，须填写该案件的编号，如 WZ-2026-000001"),
            max_length=40,
        ),
    ),
    "tolerance_review": (
        Input("reasons", _l("申请理由"), "textarea", required=True),
        Input("facts", _l("失误错误的事实"), "textarea", required=True),
    ),
}


def button_label(principal: Principal) -> str | None:
    """The case list's button to this page, or None for a principal who may open nothing."""
    if not intake.openable_kinds(principal):
        return None
    return _("提出申请") if principal.role in APPLICANT_ROLES else _("登记案件")


def origin_choices(role: str, kind: str) -> dict[str, str]:
    """The origins (source, basis, trigger, applicant) the role may open the kind with."""
    allowed = intake.OPENERS[kind][role]
    names = intake.ORIGINS[kind]
    return {key: name for key, name in names.items() if allowed is None or key in allowed}


def _named(role: str, kind: str) -> bool:
    """Whether the form offers a subject not on the cadre register (a cadre speaks for themself)."""
    return kind in intake.NAMED_SUBJECT_KINDS and role != "cadre"


def _fields(role: str, kind: str) -> list[str]:
    """The form's field names in the order they are shown (the first with an error takes the focus)."""
    subject = ["cadre_id", "subject_name", "org_unit"] if _named(role, kind) else ["cadre_id"]
    return ["kind", *subject, intake.ORIGIN_KEYS[kind], *(i.key for i in INPUTS[kind]), "title"]


def _posted(form: Mapping[str, str], role: str) -> dict[str, str]:
    kind = form.get("kind", "")
    names = _fields(role, kind) if kind in intake.OPENERS else ["kind"]
    return {name: form.get(name, "")[:MAX_TEXT].replace("\x00", "").strip() for name in names}


def _problems(principal: Principal, kind: str, values: Mapping[str, str]) -> dict[str, str]:
    """What is wrong with the form before the domain sees it: empty required fields, dates
    that are not dates, an origin not offered; all at once."""
    errors: dict[str, str] = {}
    choices = origin_choices(principal.role, kind)
    origin = values[intake.ORIGIN_KEYS[kind]]
    if origin and origin not in choices:
        errors[intake.ORIGIN_KEYS[kind]] = _(
            "只能选择：%(choices)s", choices="、".join(choices.values())
        )
    elif not origin and len(choices) > 1:
        errors[intake.ORIGIN_KEYS[kind]] = _("请选择一项")
    cadre = values["cadre_id"]
    if cadre and _id(cadre) is None:
        errors["cadre_id"] = _("请从所列干部中选择")
    elif not cadre and principal.role != "cadre" and not values.get("subject_name"):
        errors["cadre_id"] = _("请选择当事干部")
    limits = {**LIMITS, **{field.key: field.max_length for field in INPUTS[kind]}}
    for name, limit in limits.items():
        if len(values.get(name, "")) > limit:
            errors[name] = _("最多填写 %(n)d 个字", n=limit)
    for field in INPUTS[kind]:
        text = values[field.key]
        if not text and field.required:
            errors[field.key] = _("请填写此项")
        elif text and field.widget == "date" and not _is_date(text):
            errors[field.key] = _("请填写有效的日期（年-月-日）")
    return errors


def _id(text: str) -> int | None:
    """A record id typed or chosen in the form, or None if the text is not one."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _start_data(
    session: Session, principal: Principal, kind: str, values: Mapping[str, str]
) -> dict[str, Any]:
    """The form's start data as the process takes it; a case number becomes the id of a case
    the principal sees (ValidationFailed naming the field otherwise)."""
    choices = origin_choices(principal.role, kind)
    origin_key = intake.ORIGIN_KEYS[kind]
    data: dict[str, Any] = {origin_key: values[origin_key] or next(iter(choices))}
    for field in INPUTS[kind]:
        text = values[field.key]
        if not text:
            continue
        if field.widget == "date":
            data[field.key] = date.fromisoformat(text)
        elif field.widget == "case":
            data[field.key] = _case_id(session, principal, text)
        else:
            data[field.key] = text
    return data


def _case_id(session: Session, principal: Principal, number: str) -> int:
    found = case_views.visible_case_id(session, principal=principal, number=number)
    if found is None:  # a case out of sight does not exist
        message = _("没有编号为 %(number)s 的案件", number=number)
        raise ValidationFailed(message, [{"field": "related_case_id", "message": message}])
    return found


def _placed(role: str, kind: str, err: ValidationFailed) -> tuple[dict[str, str], list[str]]:
    """The domain's messages beside the fields they name; the rest for the summary at the top."""
    known = set(_fields(role, kind))
    errors: dict[str, str] = {}
    top: list[str] = []
    for item in err.errors or [{"field": "", "message": said(err.message)}]:
        name = "kind" if item["field"] == "process" else item["field"]
        if name in known:
            errors[name] = (
                f"{errors[name]}；{said(item['message'])}"
                if name in errors
                else said(item["message"])
            )
        else:
            top.append(said(item["message"]))
    return errors, top


# --- the page ----------------------------------------------------------------------------------


def _may_open_something(principal: Principal) -> list[str]:
    kinds = intake.openable_kinds(principal)
    if not kinds:
        openers = dict.fromkeys(role for table in intake.OPENERS.values() for role in table)
        raise Forbidden(
            _(
                "%(role)s人员不能登记案件：案件由%(roles)s登记或提出",
                role=ROLE_LABELS.get(principal.role, principal.role),
                roles="、".join(str(ROLE_LABELS[role]) for role in openers),
            )
        )
    return kinds


#: How many cadres the 当事干部 list holds at once. A province's jurisdiction holds thousands:
#: the search box above the list narrows it by name or post, on the server.
CADRE_CHOICES = 100
SEARCH_MAX = 100  # characters of a search kept


def _cadres(
    session: Session, principal: Principal, *, text: str = "", selected: str = ""
) -> CadreChoices:
    """The cadres a case may be about, found by `text`; the cadre already selected stays listed."""
    return cadre_views.cadre_choices(
        session, principal=principal, text=text, selected=_id(selected), limit=CADRE_CHOICES
    )


def _search_text(raw: str | None) -> str:
    return (raw or "").strip()[:SEARCH_MAX]


def _form_page(
    kind: str,
    values: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    top: list[str] | None = None,
    notice: str | None = None,
    status: int = 200,
    cadre_text: str = "",
) -> Any:
    errors = errors or {}
    with auth.reading() as (session, principal):
        kinds = _may_open_something(principal)
        own = (
            cadre_views.cadre(session, principal=principal, cadre_id=principal.cadre_id)
            if principal.role == "cadre" and principal.cadre_id
            else None
        )
        named = _named(principal.role, kind)
        units = sorted(org.unit_names(session, principal.units).items()) if named else []
        context = {
            "heading": button_label(principal),
            "applying": principal.role in APPLICANT_ROLES,
            "kinds": [(key, cases.KIND_NAMES[key], KIND_HINTS[key]) for key in kinds],
            "kind": kind,
            "cadres": (
                _cadres(session, principal, text=cadre_text, selected=values.get("cadre_id", ""))
                if principal.role != "cadre"
                else None
            ),
            "own": {"name": own.name, "post": own.post} if own else None,
            "named": named,
            "units": units,
            "origin": {
                "key": intake.ORIGIN_KEYS[kind],
                "label": ORIGIN_LABELS[kind],
                "choices": origin_choices(principal.role, kind),
            },
            "inputs": INPUTS[kind],
            "values": values,
            "errors": errors,
            "top": top or [],
            "notice": notice,
            "first_error": next(
                (name for name in _fields(principal.role, kind) if name in errors), None
            ),
            "today": auth.runtime().clock.today().isoformat(),
            "cadre_limit": CADRE_CHOICES,
        }
    return render_template("case_new.html", **context), status


@bp.get("/cases/new")
def case_new() -> Any:
    """The form to open a case: the kinds I may open (`?kind=`), the cadre (`?cadre_id=`), the
    origin, the start fields of the kind, a title."""
    with auth.reading() as (_session, principal):
        kinds = _may_open_something(principal)
    asked = request.args.get("kind", "")
    kind = asked if asked in kinds else kinds[0]
    return _form_page(
        kind,
        _with_defaults(
            kind, {name: request.args.get(name, "")[:400].strip() for name in ("cadre_id", "title")}
        ),
        cadre_text=_search_text(request.args.get("cadre_q")),
    )


@bp.get("/cases/new/cadres")
def case_new_cadres() -> Any:
    """The 当事干部 list's options for `?cadre_q=` (name or post), keeping `?cadre_id=` selected:
    what the search box above the list swaps in. Not for a cadre (they open cases about
    themself only)."""
    with auth.reading() as (session, principal):
        _may_open_something(principal)
        if principal.role == "cadre":
            raise NotFound("no cadre list for a cadre")
        selected = request.args.get("cadre_id", "")[:20]
        choices = _cadres(
            session, principal, text=_search_text(request.args.get("cadre_q")), selected=selected
        )
    return render_template("_cadre_options.html", cadres=choices, selected=selected)


def _with_defaults(kind: str, values: Mapping[str, str]) -> dict[str, str]:
    """The values with today's date in the date fields that default to it, where still empty."""
    today = auth.runtime().clock.today().isoformat()
    return {
        **{i.key: today for i in INPUTS[kind] if i.today},
        **{k: v for k, v in values.items() if v},
    }


@bp.post("/cases/new")
def case_open() -> Any:
    """Opens the case (intake.open_on_request) and goes to its page; bad input re-renders the
    form with the messages beside the fields (422), nothing stored."""
    form_errors.require_token()
    rt = auth.runtime()
    with auth.reading() as (_session, principal):
        values = _posted(request.form, principal.role)
        kind = values["kind"]
        intake.check_may_open(principal, kind)  # Forbidden, or ValidationFailed for an unknown kind
        problems = _problems(principal, kind, values)
        role = principal.role
    searched = _search_text(request.form.get("cadre_q"))
    if request.form.get("shown") != kind:  # the kind was changed where the fields could not follow
        return _form_page(
            kind,
            _with_defaults(kind, values),
            cadre_text=searched,
            notice=_("已改为%(kind)s：请填写本类案件的事项后再提交", kind=cases.KIND_NAMES[kind]),
        )
    if problems:
        return _form_page(kind, values, errors=problems, status=422, cadre_text=searched)
    try:
        with auth.writing() as (session, principal):
            case = intake.open_on_request(
                session,
                principal=principal,
                kind=kind,
                data=_start_data(session, principal, kind, values),
                clock=rt.clock,
                cadre_id=_id(values["cadre_id"]),
                person_name=values.get("subject_name") or None,
                org_unit=values.get("org_unit") or None,
                title=values["title"] or None,
            )
            new_id, number = case.id, case.number
    except ValidationFailed as err:
        errors, top = _placed(role, kind, err)
        return _form_page(kind, values, errors=errors, top=top, status=422, cadre_text=searched)
    message = (
        _("已提交申请：%(number)s", number=number)
        if role in APPLICANT_ROLES
        else _("已立案：%(number)s", number=number)
    )
    with auth.reading() as (session, principal):
        seen = case_views.sees_case(session, principal=principal, case_id=new_id)
    # opened for a unit whose cases I do not see: back to the list
    target = url_for("ui.case", case_id=new_id) if seen else url_for("ui.cases")
    return redirect_with(target, message, "success")

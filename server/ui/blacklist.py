"""失信黑名单 pages: the register (/blacklist), one entry with its chain of corrections
(/blacklist/<id>), and the correction form (更正) for organization clerks.

The data and the rules are the API's: the views of workflows/cases/blacklist_views.py, the
fields checked by the schema the API checks too (server/schemas.py), the correction by
workflows/cases/blacklist.py. A
refused form comes back with each message beside its field and the values kept; nothing
is stored. A corrected entry stays on the register as it was entered, struck through and
marked 已更正 with a link to the entry that corrected it and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from server import auth
from server.schemas import BlacklistCorrectionArgs
from server.ui import form_errors
from server.ui.common import bp, redirect_with
from workflows.access import Principal
from workflows.cases import blacklist, blacklist_views
from workflows.errors import ValidationFailed

PER_PAGE = 30
#: The form's fields, in order; the domain names the basis case by id, the form by its number.
FIELDS = ("person_name", "basis_case_number", "entered_on", "listing_reason", "reason", "reviewer")
_DOMAIN_FIELDS = {"basis_case_id": "basis_case_number", "entry_id": "form", "(body)": "form"}


def _page_number(text: str | None) -> int:
    return min(int(text), 100_000) if text and text.isdigit() and int(text) > 0 else 1


@bp.get("/blacklist", endpoint="blacklist")
def blacklist_register() -> Any:
    """失信黑名单: listings, corrections and removals whose basis case my units hold, newest first."""
    text = (request.args.get("q") or "").strip()[:100] or None
    page = _page_number(request.args.get("page"))
    current = {"1": True, "0": False}.get(request.args.get("current", ""))
    with auth.reading() as (session, principal):
        found = blacklist_views.entry_page(
            session, principal=principal, text=text, current=current, page=page, per_page=PER_PAGE
        )

    def link(**changes: Any) -> str:
        values = {
            "q": text,
            "current": None if current is None else int(current),
            "page": page,
            **changes,
        }
        return url_for(
            "ui.blacklist",
            **{
                k: v
                for k, v in values.items()
                if v is not None and v != "" and not (k == "page" and v == 1)
            },
        )

    if page > found.pages:
        return redirect_with(link(page=found.pages))
    return render_template(
        "blacklist.html",
        items=found.items,
        text=text,
        current=current,
        page=page,
        pages=found.pages,
        total=found.total,
        link=link,
    )


@bp.get("/blacklist/<int:entry_id>")
def blacklist_entry(entry_id: int) -> Any:
    """One entry as it was entered, what became of it, its chain of corrections, and for an
    organization clerk of its unit the correction form."""
    return _entry_page(entry_id)


@bp.post("/blacklist/<int:entry_id>/corrections")
def blacklist_correct(entry_id: int) -> Any:
    """更正: a new entry with the corrected fields supersedes this one, which stays readable."""
    form_errors.require_token()
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    if not values["reason"]:
        errors["reason"] = _("请填写更正理由")
    if not values["reviewer"]:
        errors["reviewer"] = _("请选择审核人")
    if not values["basis_case_number"]:
        errors["basis_case_number"] = _("请填写依据案件编号")
    data = {
        name: values[name]
        for name in ("person_name", "entered_on", "listing_reason", "reason", "reviewer")
        if values[name] or name in ("person_name", "entered_on", "listing_reason")
    }
    loaded, problems = form_errors.load(BlacklistCorrectionArgs(), data)
    errors = {**problems, **errors}
    rt = auth.runtime()
    if not errors:
        try:
            with auth.writing() as (session, principal):
                blacklist.check_may_correct(principal)
                basis_case_id = _case_id(session, principal, values["basis_case_number"])
                changes = blacklist.Changes(
                    person_name=loaded["person_name"],
                    basis_case_id=basis_case_id,
                    entered_on=loaded["entered_on"],
                    listing_reason=loaded["listing_reason"],
                )
                created = blacklist.correct_entry(
                    session,
                    principal=principal,
                    entry_id=entry_id,
                    reviewer=loaded["reviewer"],
                    reason=loaded["reason"],
                    changes=changes,
                    clock=rt.clock,
                )
                new_id = created.id
        except ValidationFailed as err:
            errors = {
                _DOMAIN_FIELDS.get(name, name): message
                for name, message in form_errors.of_domain(err).items()
            }
    if errors:
        return _entry_page(entry_id, values=values, errors=errors, status=422)
    return redirect_with(
        url_for("ui.blacklist_entry", entry_id=new_id),
        _("已更正第 %(old)d 条，更正后的条目为第 %(new)d 条", old=entry_id, new=new_id),
        "success",
    )


def _case_id(session: Session, principal: Principal, number: str) -> int:
    """The id of the case with this number in the principal's units (ValidationFailed otherwise)."""
    found = blacklist_views.basis_case_id(session, principal=principal, number=number)
    if found is None:
        message = _("没有编号为 %(number)s 的案件", number=number)
        raise ValidationFailed(message, [{"field": "basis_case_id", "message": message}])
    return found


def _entry_page(
    entry_id: int,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    with auth.reading() as (session, principal):
        entry = blacklist_views.entry_detail(session, principal=principal, entry_id=entry_id)
    shown = {
        "person_name": entry.person_name,
        "basis_case_number": entry.basis_case_number,
        "entered_on": entry.entered_on.isoformat(),
        "listing_reason": entry.reason,
        "reason": "",
        "reviewer": "",
        **(values or {}),
    }
    return render_template(
        "blacklist_entry.html",
        entry=entry,
        chain=entry.history,
        reviewer_options=[(person.username, person.label) for person in entry.reviewers],
        values=shown,
        errors=errors or {},
        max_reason=blacklist.REASON_MAX,
        max_name=blacklist.NAME_MAX,
    ), status

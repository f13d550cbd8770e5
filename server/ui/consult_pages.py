"""加签 and 抄送 pages: the task page's 加签 and 抄送 forms (colleagues picked from a list by
name) and 撤回; the answer page of a request (/consultations/<id>); 征求意见 (/consultations,
the requests asking my opinion) and 抄送我的 (/copies). The rules are the domain's
(workflows/tasks/consultations.py, copies.py); a refusal comes back beside its field on the
task page (422) with what was chosen and typed kept."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.errors import said
from server.ui import task_page
from server.ui.common import bp, redirect_with
from server.ui.form_errors import require_token
from workflows.errors import ValidationFailed
from workflows.tasks import consultation_views, consultations, copies

PER_PAGE = 30


def _refused(err: ValidationFailed) -> dict[str, str]:
    """Each field's first message (users, question, note, opinion)."""
    found: dict[str, str] = {}
    for problem in err.errors:
        found.setdefault(problem["field"], said(problem["message"]))
    return found or {"users": said(err.message)}


@bp.post("/tasks/<int:task_id>/consult")
def task_consult(task_id: int) -> Any:
    """加签: ask the chosen colleagues for an opinion on the step."""
    require_token()
    rt = auth.runtime()
    users = request.form.getlist("users")[:100]
    question = request.form.get("question", "")
    try:
        with auth.writing() as (session, principal):
            consultations.ask(
                session,
                principal=principal,
                task_id=task_id,
                users=users,
                question=question,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        shown = {"users": users, "question": question, "errors": _refused(err)}
        return task_page.render(task_id, consult=shown, status=422)
    return redirect_with(
        url_for("ui.task", task_id=task_id) + "#working-together",
        _("已加签，征求 %(n)d 人的意见", n=len(users)),
        "success",
    )


@bp.post("/tasks/<int:task_id>/copy")
def task_copy(task_id: int) -> Any:
    """抄送: copy the chosen colleagues on the step, with a note."""
    require_token()
    rt = auth.runtime()
    users = request.form.getlist("users")[:100]
    note = request.form.get("note", "")
    try:
        with auth.writing() as (session, principal):
            copies.copy(
                session,
                principal=principal,
                task_id=task_id,
                users=users,
                note=note,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        shown = {"users": users, "note": note, "errors": _refused(err)}
        return task_page.render(task_id, copy=shown, status=422)
    return redirect_with(
        url_for("ui.task", task_id=task_id) + "#working-together",
        _("已抄送 %(n)d 人", n=len(users)),
        "success",
    )


@bp.post("/consultations/<int:consultation_id>/withdraw")
def consultation_withdraw(consultation_id: int) -> Any:
    """撤回 an open request for opinions (its asker, or the step's holder)."""
    require_token()
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        row = consultations.withdraw(
            session, principal=principal, consultation_id=consultation_id, clock=rt.clock
        )
        task_id = row.task_id
    return redirect_with(
        url_for("ui.task", task_id=task_id) + "#working-together", _("已撤回征求意见"), "success"
    )


def _answer_page(consultation_id: int, *, opinion: str = "", error: str | None = None) -> Any:
    with auth.reading() as (session, principal):
        c = consultation_views.one(session, principal, consultation_id)
    status = 422 if error else 200
    return render_template("consultation.html", c=c, opinion=opinion, error=error), status


@bp.get("/consultations/<int:consultation_id>")
def consultation(consultation_id: int) -> Any:
    """One request: the question, who asked, the opinions so far, and my answer form."""
    return _answer_page(consultation_id)


@bp.post("/consultations/<int:consultation_id>")
def consultation_answer(consultation_id: int) -> Any:
    """回复意见: my opinion on a request that asked me."""
    require_token()
    rt = auth.runtime()
    opinion = request.form.get("opinion", "")
    try:
        with auth.writing() as (session, principal):
            consultations.answer(
                session,
                principal=principal,
                consultation_id=consultation_id,
                opinion=opinion,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        return _answer_page(consultation_id, opinion=opinion, error=_refused(err).get("opinion"))
    return redirect_with(url_for("ui.consultations"), _("意见已回复"), "success")


@bp.get("/consultations", endpoint="consultations")
def consultations_page() -> Any:
    """征求意见: the requests asking my opinion — still to answer, or answered."""
    state = "answered" if request.args.get("state") == "answered" else "open"
    page = _page_no()
    with auth.reading() as (session, principal):
        found = consultation_views.asked_of_me(
            session, principal, state=state, page=page, per_page=PER_PAGE
        )
        waiting = consultation_views.open_count(session, principal)
    return render_template(
        "consultations.html",
        items=found.items,
        state=state,
        waiting=waiting,
        page=found.page,
        pages=found.pages,
        total=found.total,
        link=lambda **kw: url_for("ui.consultations", state=state, **kw),
    )


@bp.get("/copies", endpoint="copies")
def copies_page() -> Any:
    """抄送我的: the steps copied to me, newest first."""
    page = _page_no()
    with auth.reading() as (session, principal):
        found = consultation_views.copies_to_me(session, principal, page=page, per_page=PER_PAGE)
    return render_template(
        "copies.html",
        items=found.items,
        page=found.page,
        pages=found.pages,
        total=found.total,
        link=lambda **kw: url_for("ui.copies", **kw),
    )


@bp.post("/copies/<int:copy_id>/read")
def copy_read(copy_id: int) -> Any:
    """Mark a copy sent to me read."""
    require_token()
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        copies.mark_read(session, principal=principal, copy_id=copy_id, clock=rt.clock)
    return redirect_with(url_for("ui.copies"), _("已标为已读"), "success")


def _page_no() -> int:
    page = request.args.get("page", "1")
    return min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1

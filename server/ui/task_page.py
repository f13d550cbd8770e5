"""The task page (/tasks/<id>): the task's form rendered from its JSON Schema and UI schema,
completed or saved as a draft (保存草稿); claim, release, delegate (委派), transfer (转办),
加签 and 抄送 (their forms post to consult_pages.py) and comments; beside it the case:
summary, documents, what earlier steps recorded and the opinions asked (办理记录), the
six-element recommendation and history.

The page renders the API's view of the task (workflows/tasks/views.py `task_detail`): its
buttons are the view's `actions`. Completion is the API's: a read transaction gets the
form the post is read against, then the write transaction is `completion.complete` and
nothing else — the checks run under the instance lock and completion is the only
validator. Its refusal re-renders the form (422) with each message beside its field in
Chinese and every value kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from server import auth
from server.errors import said
from server.ui import case_pages, form_errors, i18n, schema_form
from server.ui.common import bp, redirect_with
from server.ui.documents import card as documents_card
from server.ui.i18n import content
from server.ui.official_documents import card as official_card
from workflows import access
from workflows.access import Principal
from workflows.cases import service as cases
from workflows.cases import tolerance
from workflows.documents import service as documents_service
from workflows.engine import form_messages
from workflows.errors import Conflict, NotFound, TaskAlreadyCompleted, ValidationFailed
from workflows.official import kinds
from workflows.org import people
from workflows.tasks import candidates, completion, consultation_views, copies, drafts, views
from workflows.tasks import service as work
from workflows.tasks.details import RecordedStep

#: Case data shown beside the form as the case's documents (材料), by key.
DOCUMENTS = {
    "facts": _l("问题事实"),
    "evidence": _l("证据材料"),
    "findings": _l("调查结论"),
    "report": _l("所反映的问题"),
    "reasons": _l("申请理由"),
    "grounds": _l("申诉理由"),
    "requirements": _l("整改要求"),
    "proposal": _l("处理建议"),
}
_EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}
#: The answers of the six-element analysis, shown as the recommendation's grid, not as a record.
SIX_ELEMENT_KEYS: tuple[str, ...] = tuple(
    [key for key, *_names in tolerance.ELEMENTS]
    + [f"{key}_reason" for key, *_names in tolerance.ELEMENTS]
    + [key for key, _name in tolerance.DISTINCTIONS]
    + [f"{key}_note" for key, _name in tolerance.DISTINCTIONS]
)


def _schema(form: views.TaskDetailView | views.TaskForm) -> Mapping[str, Any]:
    return form.form_schema or _EMPTY_FORM


def _values(
    session: Session,
    principal: Principal,
    task: views.TaskDetailView,
    posted: dict[str, str] | None,
) -> tuple[dict[str, str], drafts.Draft | None]:
    """What the inputs hold: what was posted, else the saved draft, else the task's data;
    read-only values always from the task's data."""
    stored = schema_form.flatten(task.data)
    draft = (
        drafts.draft_of(session, principal=principal, task_id=task.id) if posted is None else None
    )
    entered = posted if posted is not None else (schema_form.flatten(draft.data) if draft else None)
    if entered is None:
        return stored, None
    fields = schema_form.build(_schema(task), task.ui_schema, stored)
    fixed = {f.path for top in fields for f in top.walk() if f.widget == "readonly"}
    return {**entered, **{k: v for k, v in stored.items() if k in fixed}}, draft


def _page(
    task_id: int,
    *,
    posted: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    extra_rows: dict[str, int] | None = None,
    reassign: dict[str, str] | None = None,
    comment: dict[str, str] | None = None,
    going_back: dict[str, Any] | None = None,
    copy_to: dict[str, Any] | None = None,
    consult: dict[str, Any] | None = None,
    copy: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        t = views.task_detail(session, principal, task_id, clock=rt.clock)
        values, draft = _values(session, principal, t, posted)
        fields = schema_form.build(_schema(t), t.ui_schema, values, extra_rows=extra_rows)
        top = schema_form.attach(fields, errors or [])
        _offer_people(session, principal, t, fields)
        case = cases.get(session, t.case_id) if t.case_id is not None else None
        _offer_documents(session, principal, t, fields)
        context = {
            "t": t,
            "fields": fields,
            "top_errors": top,
            "draft": draft,
            "field_errors": sum(len(f.errors) for top_field in fields for f in top_field.walk()),
            "me": principal.username,
            "posted": posted is not None,
            "colleagues": _choices(session, principal, t.id, candidates.DELEGATE)
            if t.may(views.DELEGATE)
            else [],
            "comments": views.comments(session, principal, t.id),
            "urges": views.urges(session, principal, t.id),
            "draft_by": people.label(session, draft.saved_by) if draft else None,
            "case": case_pages.side_summary(session, principal, case, now=rt.clock.now())
            if case
            else None,
            "recommendation": case_pages.recommendation(session, principal, case) if case else None,
            "reassign": reassign or {},
            "comment": comment or {},
            "going_back": going_back or {},
            "copy_to": copy_to or {},
            # 加签 / 抄送: colleagues picked by name, from the list the writes accept
            "candidates": consultation_views.candidates(session, principal, t.id)
            if t.may(views.CONSULT) or t.may(views.COPY)
            else [],
            "consult": consult or {},
            "copy": copy or {},
        }
        recorded = _recorded(t, shown_apart=SIX_ELEMENT_KEYS if context["recommendation"] else ())
        context["recorded"], context["documents"] = recorded, _documents(t, recorded, fields)
        context["attachments"] = (
            documents_card(session, principal, case, task_id=t.id)
            if case is not None and context["case"] is not None
            else None
        )
        context["official"] = (
            {
                **official_card(session, principal, case, task_id=t.id),
                "serving": t.form in kinds.SERVING_FORMS,
            }
            if case is not None and context["case"] is not None
            else None
        )
    return render_template("task.html", **context), status


def _choices(
    session: Session, principal: Principal, task_id: int, purpose: str, text: str = ""
) -> list[tuple[str, str]]:
    """(username, 姓名（单位·岗位）) of whom the principal may choose for `purpose`."""
    found = candidates.candidates(
        session, principal=principal, task_id=task_id, purpose=purpose, text=text
    )
    return [(person.username, person.label) for person in found]


def _offer_people(
    session: Session,
    principal: Principal,
    task: views.TaskDetailView,
    fields: list[schema_form.Field],
) -> None:
    """The form's person fields (an appeal's 复核人) list whom the principal may name."""
    for field in (f for top in fields for f in top.walk() if f.widget == "person"):
        field.search_url = url_for(
            "ui.task_candidates", task_id=task.id, purpose=candidates.REVIEWER
        )
        if task.may_complete:
            field.options = [
                schema_form.Option(value, label)
                for value, label in _choices(session, principal, task.id, candidates.REVIEWER)
            ]


def _offer_documents(
    session: Session,
    principal: Principal,
    task: views.TaskDetailView,
    fields: list[schema_form.Field],
) -> None:
    """The form's document fields (文件引用) list the case's documents (案件材料) not
    withdrawn, by title or file name."""
    wanted = [f for top in fields for f in top.walk() if f.widget == "document"]
    if not wanted or task.case_id is None:
        return
    found = documents_service.documents_of(session, principal=principal, case_id=task.case_id)
    options = [
        schema_form.Option(str(d.document.id), d.document.title or d.document.filename)
        for d in found
        if d.withdrawal is None
    ]
    for field in wanted:
        field.options = options


@bp.get("/tasks/<int:task_id>/candidates")
def task_candidates(task_id: int) -> Any:
    """The options of a person list on the task page for `?people_q=` (姓名 or username):
    what the search box above the list swaps in. `purpose`: delegate, transfer or reviewer."""
    purpose = request.args.get("purpose", "")
    text = (request.args.get("people_q") or request.args.get("q") or "").strip()[:100]
    with auth.reading() as (session, principal):
        choices = _choices(session, principal, task_id, purpose, text)
    return render_template("macros/people_options.html", choices=choices, text=text)


def render(task_id: int, **shown: Any) -> Any:
    """The task page with a refused form's entries shown (consult=…, copy=…: what was chosen
    and typed, and the messages by field) — for the other pages that post to the task."""
    return _page(task_id, **shown)


def _recorded(task: views.TaskDetailView, *, shown_apart: tuple[str, ...]) -> list[RecordedStep]:
    """What earlier steps recorded, less what the page shows elsewhere (the six-element grid)."""
    steps = [
        replace(step, entries=[e for e in step.entries if e.key not in shown_apart])
        for step in task.recorded
    ]
    return [step for step in steps if step.entries]


def _documents(
    task: views.TaskDetailView, recorded: list[RecordedStep], fields: list[schema_form.Field]
) -> list[tuple[str, str]]:
    """The case's materials from its start data, unless a step's answers or the form show them."""
    shown = {e.key for step in recorded for e in step.entries} | {f.path for f in fields}
    return [
        (str(label), task.data[key])
        for key, label in DOCUMENTS.items()
        if isinstance(task.data.get(key), str) and task.data[key].strip() and key not in shown
    ]


@bp.get("/tasks/<int:task_id>")
def task(task_id: int) -> Any:
    """One task: its form (prefilled from the case, or from the saved draft), whether and why
    not I may complete it, and the case beside it."""
    return _page(task_id)


#: The completion form's 办理后抄送 fields: not form data.
COPY_ON_COMPLETION = ("copy_to_users", "copy_to_note")


@bp.post("/tasks/<int:task_id>")
def task_submit(task_id: int) -> Any:
    """办理: complete the task with the form (action=complete), save it as a draft (action=draft),
    or add an item to a list in the form (add_row=<field>).

    The form is read in a read transaction; the write is the completion alone (or the draft):
    completion judges the data, and its refusal is worded beside the fields."""
    rt = auth.runtime()
    posted = {
        key: request.form.get(key, "")
        for key in request.form
        if key not in (auth.CSRF_FIELD, "action", "add_row", *COPY_ON_COMPLETION)
    }
    copy_users = [u.strip()[:100] for u in request.form.getlist("copy_to_users") if u.strip()]
    copy_note = request.form.get("copy_to_note", "")[:4000]
    add_row = request.form.get("add_row")
    action = request.form.get("action", "complete")
    form_errors.require_token()  # CSRF first, whatever the action
    with auth.reading() as (session, principal):
        form = views.task_form(session, principal, task_id)
    if add_row:
        return _page(task_id, posted=posted, extra_rows={add_row: 1})
    data, unreadable = schema_form.read(_schema(form), form.ui_schema, posted)
    try:
        with auth.writing() as (session, principal):
            if action == "draft":
                drafts.save_draft(
                    session, principal=principal, task_id=task_id, data=data, clock=rt.clock
                )
            else:  # an unreadable value stays text in `data`: completion refuses it by its type
                if copy_users:  # 抄送 on completion: in the same transaction, or neither
                    try:
                        copies.copy(
                            session,
                            principal=principal,
                            task_id=task_id,
                            users=copy_users[:50],
                            note=copy_note,
                            clock=rt.clock,
                        )
                    except ValidationFailed as refused:
                        raise _CopyRefused(refused) from None
                completion.complete(
                    session, principal=principal, task_id=task_id, data=data, clock=rt.clock
                )
    except _CopyRefused as refused:
        errors = {e["field"]: said(e["message"]) for e in refused.err.errors}
        return _page(
            task_id,
            posted=posted,
            copy_to={
                "users": copy_users,
                "note": copy_note,
                "errors": errors or {"users": said(refused.err.message)},
            },
            status=422,
        )
    except (
        ValidationFailed
    ) as err:  # the form's rules, or a rule of the process's action: nothing stored
        named = {p["field"] for p in unreadable}
        worded = [
            p
            for p in form_messages.messages(_schema(form), err, gettext=i18n.text)
            if p["field"] not in named
        ]
        return _page(task_id, posted=posted, errors=unreadable + worded, status=422)
    except Conflict as err:  # completed by someone else meanwhile: the page shows by whom
        message = (
            _("任务已办结或已取消，未能提交")
            if isinstance(err, TaskAlreadyCompleted)
            else said(err.message)
        )
        return redirect_with(url_for("ui.task", task_id=task_id), message, "error")
    here = url_for("ui.task", task_id=task_id)
    if action == "draft":
        return redirect_with(here, _("草稿已保存：%(name)s", name=content(form.name)), "success")
    done = _("已办结：%(name)s", name=content(form.name)) + (
        _("（%(text)s）", text=form.case_number) if form.case_number else ""
    )
    return redirect_with(url_for("ui.inbox"), done, "success")


class _CopyRefused(Exception):
    """The 抄送 chosen with a completion was refused: nothing is stored, the form says why."""

    def __init__(self, err: ValidationFailed) -> None:
        super().__init__(err.message)
        self.err = err


def _reassign(task_id: int, verb: str) -> Any:
    rt = auth.runtime()
    username = request.form.get("username", "").strip()[:100]
    action = work.delegate if verb == "delegate" else work.transfer
    try:
        with auth.writing() as (session, principal):
            task = action(
                session, principal=principal, task_id=task_id, username=username, clock=rt.clock
            )
            name, assignee = task.name, people.label(session, task.assignee)
    except ValidationFailed as err:
        return _page(
            task_id,
            reassign={"verb": verb, "username": username, "error": said(err.message)},
            status=422,
        )
    done = (
        _("已委派给 %(who)s：%(name)s", who=assignee, name=content(name))
        if verb == "delegate"
        else _("已转办给 %(who)s：%(name)s", who=assignee, name=content(name))
    )
    try:  # after a transfer the task may have left my sight
        with auth.reading() as (session, principal):
            access.get_task(session, principal, task_id)
        target = url_for("ui.task", task_id=task_id)
    except NotFound:
        target = url_for("ui.inbox")
    return redirect_with(target, done, "success")


@bp.post("/tasks/<int:task_id>/delegate")
def task_delegate(task_id: int) -> Any:
    """委派: to a colleague of the task's role and unit; I stay its owner and may take it back."""
    return _reassign(task_id, "delegate")


@bp.post("/tasks/<int:task_id>/transfer")
def task_transfer(task_id: int) -> Any:
    """转办: to a colleague of the task's role and unit, outright."""
    return _reassign(task_id, "transfer")


@bp.post("/tasks/<int:task_id>/comments")
def task_comment(task_id: int) -> Any:
    """A comment on the open task, for everyone who sees it."""
    rt = auth.runtime()
    body = request.form.get("body", "")
    try:
        with auth.writing() as (session, principal):
            work.comment(session, principal=principal, task_id=task_id, body=body, clock=rt.clock)
    except ValidationFailed as err:
        return _page(task_id, comment={"body": body, "error": said(err.message)}, status=422)
    return redirect_with(
        url_for("ui.task", task_id=task_id) + "#comments", _("评论已发表"), "success"
    )

"""加签 (ask named colleagues for opinions) and 抄送 (copy them) on a step: the step's requests,
copies and eligible colleagues on the tasks blueprint; the requests one is asked to answer
(/consultations) and the copies one received (/copies) on their own blueprint. The rules are
the domain's (workflows/tasks/consultations.py, copies.py, colleagues.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.common import Blueprint, PageArgs, PersonSchema
from server.api.consultation_schemas import (
    ConsultationPageSchema,
    ConsultationSchema,
    CopyPageSchema,
    CopySchema,
)
from server.api.tasks import blp as tasks_blp
from workflows.tasks import colleagues, consultation_views, consultations, copies

blp = Blueprint(
    "consultations",
    __name__,
    description="加签与抄送：我被征求意见的事项及回复、撤回，抄送我的",
)


def _users(what: str) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=colleagues.USERS_MAX),
        metadata={
            "description": f"{what}的用户名（1–{colleagues.USERS_MAX} 人，不重复），"
            "从 GET /tasks/{task_id}/colleagues 的名单中选"
        },
    )


class ConsultArgs(Schema):
    users = _users("征求意见")
    question = fields.String(
        required=True,
        validate=validate.Length(min=1, max=consultations.TEXT_MAX),
        metadata={"description": "征求意见的问题"},
    )


class AnswerArgs(Schema):
    opinion = fields.String(
        required=True,
        validate=validate.Length(min=1, max=consultations.TEXT_MAX),
        metadata={"description": "意见"},
    )


class CopyArgs(Schema):
    users = _users("抄送")
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=copies.NOTE_MAX),
        metadata={"description": "抄送说明"},
    )


class MineArgs(PageArgs):
    state = fields.String(
        load_default="open",
        validate=validate.OneOf(consultation_views.MINE),
        metadata={"description": "open 待我回复（默认）；answered 我已回复；all 全部"},
    )


# -- on a step -----------------------------------------------------------------------------


@tasks_blp.route("/tasks/<int:task_id>/colleagues")
@tasks_blp.response(200, PersonSchema(many=True))
def task_colleagues(task_id: int) -> Any:
    """Whom I may ask for opinions (加签) or copy (抄送) on the step: active users who may read the
    case by jurisdiction, not recused, not the case's cadre, not me — empty unless I may
    complete the step."""
    with auth.reading() as (session, principal):
        return consultation_views.candidates(session, principal, task_id)


@tasks_blp.route("/tasks/<int:task_id>/consultations")
@tasks_blp.response(200, ConsultationSchema(many=True))
def task_consultations(task_id: int) -> Any:
    """The requests for opinions (加签) on a step I may see, oldest first, with the opinions."""
    with auth.reading() as (session, principal):
        return consultation_views.of_task(session, principal, task_id)


@tasks_blp.route("/tasks/<int:task_id>/consultations", methods=["POST"])
@tasks_blp.arguments(ConsultArgs)
@tasks_blp.response(201, ConsultationSchema)
def consult(args: dict[str, Any], task_id: int) -> Any:
    """加签: ask named colleagues for an opinion on the step I may complete. Each is told; the step
    cannot be completed (409 naming whose opinions are missing) until every opinion is in or
    the request is withdrawn. 422 on `users` names each colleague who may not be asked."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        row = consultations.ask(
            session,
            principal=principal,
            task_id=task_id,
            users=args["users"],
            question=args["question"],
            clock=rt.clock,
        )
        return consultation_views.one(session, principal, row.id)


@tasks_blp.route("/tasks/<int:task_id>/copies")
@tasks_blp.response(200, CopySchema(many=True))
def task_copies(task_id: int) -> Any:
    """The copies (抄送) of a step I may see, oldest first."""
    with auth.reading() as (session, principal):
        return consultation_views.copies_of_task(session, principal, task_id)


@tasks_blp.route("/tasks/<int:task_id>/copies", methods=["POST"])
@tasks_blp.arguments(CopyArgs)
@tasks_blp.response(201, CopySchema(many=True))
def copy(args: dict[str, Any], task_id: int) -> Any:
    """抄送: copy named colleagues on the step I may complete, with a note; each is told and may
    read the case. 422 on `users` names each colleague who may not be copied."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        rows = copies.copy(
            session,
            principal=principal,
            task_id=task_id,
            users=args["users"],
            note=args["note"],
            clock=rt.clock,
        )
        return consultation_views.copies_by_id(session, [row.id for row in rows])


# -- mine ----------------------------------------------------------------------------------


@blp.route("/consultations")
@blp.arguments(MineArgs, location="query")
@blp.response(200, ConsultationPageSchema)
def my_consultations(args: dict[str, Any]) -> Any:
    """The requests asking my opinion (征求意见), newest first: by default those still to answer."""
    with auth.reading() as (session, principal):
        return consultation_views.asked_of_me(
            session, principal, state=args["state"], page=args["page"], per_page=args["per_page"]
        )


@blp.route("/consultations/<int:consultation_id>")
@blp.response(200, ConsultationSchema)
def get_consultation(consultation_id: int) -> Any:
    """One request, to whoever was asked in it, asked it, or may complete its step."""
    with auth.reading() as (session, principal):
        return consultation_views.one(session, principal, consultation_id)


@blp.route("/consultations/<int:consultation_id>/answer", methods=["POST"])
@blp.arguments(AnswerArgs)
@blp.response(200, ConsultationSchema)
def answer(args: dict[str, Any], consultation_id: int) -> Any:
    """Give my opinion on a request that asked me, once, while it is open; the holder is told."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        consultations.answer(
            session,
            principal=principal,
            consultation_id=consultation_id,
            opinion=args["opinion"],
            clock=rt.clock,
        )
        return consultation_views.one(session, principal, consultation_id)


@blp.route("/consultations/<int:consultation_id>/withdraw", methods=["POST"])
@blp.response(200, ConsultationSchema)
def withdraw(consultation_id: int) -> Any:
    """撤回 an open request (whoever asked it, or whoever holds the step now); those still to
    answer are told; opinions already given stay."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        consultations.withdraw(
            session, principal=principal, consultation_id=consultation_id, clock=rt.clock
        )
        return consultation_views.one(session, principal, consultation_id)


@blp.route("/copies")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CopyPageSchema)
def my_copies(args: dict[str, Any]) -> Any:
    """抄送我的: the copies sent to me, newest first."""
    with auth.reading() as (session, principal):
        return consultation_views.copies_to_me(
            session, principal, page=args["page"], per_page=args["per_page"]
        )


@blp.route("/copies/<int:copy_id>/read", methods=["POST"])
@blp.response(200, CopySchema)
def read_copy(copy_id: int) -> Any:
    """Mark a copy sent to me read."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        row = copies.mark_read(session, principal=principal, copy_id=copy_id, clock=rt.clock)
        return consultation_views.copies_by_id(session, [row.id])[0]

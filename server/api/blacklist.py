"""失信黑名单 (/api/v1/blacklist): the register, one entry with its chain of corrections, and
corrections (更正) by organization clerks. Entries are never changed or deleted (§5): PUT,
PATCH and DELETE of an entry answer 405.

Routes on the cadres blueprint; they dump the views of workflows/cases/blacklist_views.py; the
rules of a correction are workflows/cases/blacklist.py, its body server/schemas.py (shared with
the pages)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.cadres import blp
from server.api.common import PageArgs, PageSchema, refusals
from server.schemas import BlacklistCorrectionArgs, text
from workflows.cases import blacklist, blacklist_views


class BlacklistArgs(PageArgs):
    q = fields.String(validate=text(0, 100), metadata={"description": "姓名"})
    current = fields.Boolean(
        metadata={"description": "true 只看在册条目；false 只看已移出、已更正的条目和移出记录"}
    )


class BlacklistEntrySchema(Schema):
    id = fields.Integer(required=True)
    person_name = fields.String(required=True)
    basis_case_id = fields.Integer(required=True)
    basis_case_number = fields.String(required=True, metadata={"description": "依据案件"})
    entered_on = fields.Date(required=True, metadata={"description": "列入日期"})
    reviewer = fields.String(required=True, metadata={"description": "审核人（用户名）"})
    reviewer_name = fields.String(
        required=True, metadata={"description": "审核人：姓名（单位·角色）"}
    )
    reason = fields.String(
        required=True, metadata={"description": "列入理由（移出记录：移出理由）"}
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(list(blacklist_views.STATUS_NAMES)),
        metadata={
            "description": "in_force 在册、removed 已移出、corrected 已更正、removal 移出记录"
        },
    )
    status_name = fields.String(required=True)
    removes_entry_id = fields.Integer(
        allow_none=True, metadata={"description": "本条是移出记录时，所移出的条目"}
    )
    removed = fields.Boolean(required=True, metadata={"description": "本条已被移出"})
    removed_by_entry_id = fields.Integer(allow_none=True)
    removed_on = fields.Date(allow_none=True)
    corrects_entry_id = fields.Integer(
        allow_none=True, metadata={"description": "本条是更正时，所更正的条目"}
    )
    correction_reason = fields.String(
        allow_none=True, metadata={"description": "本条是更正时，更正理由"}
    )
    corrected = fields.Boolean(
        required=True, metadata={"description": "本条已被更正（原条目保留可查）"}
    )
    corrected_by_entry_id = fields.Integer(
        allow_none=True, metadata={"description": "更正本条的条目"}
    )
    corrected_at = fields.DateTime(allow_none=True, metadata={"description": "更正时间"})
    corrected_because = fields.String(allow_none=True, metadata={"description": "本条被更正的理由"})
    recorded_at = fields.DateTime(required=True)
    may_correct = fields.Boolean(required=True, metadata={"description": "我能否更正本条"})


class BlacklistPageSchema(PageSchema):
    items = fields.List(fields.Nested(BlacklistEntrySchema), required=True)


class ReviewerSchema(Schema):
    username = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "姓名（单位·角色）"})


class BlacklistEntryDetailSchema(BlacklistEntrySchema):
    history = fields.List(
        fields.Nested(BlacklistEntrySchema),
        required=True,
        metadata={"description": "本条所在的更正链，从最初列入到现行条目，按先后"},
    )
    reviewers = fields.List(
        fields.Nested(ReviewerSchema),
        required=True,
        metadata={"description": "更正时可选的审核人（我不能更正本条时为空）"},
    )


#: The refusals these routes document, beside the default error response.
_REFUSALS = {
    403: "不是黑名单的查阅人；更正时：不是组织部门人员",
    404: "没有这一条，或它不在我的管辖范围内",
    409: "同时有人更正或移出了这一条",
    422: "输入有误：errors 按字段说明",
}


def _refusals(*statuses: int) -> Any:
    return refusals(blp, _REFUSALS, *statuses)


@blp.route("/blacklist")
@blp.arguments(BlacklistArgs, location="query")
@blp.response(200, BlacklistPageSchema)
@_refusals(403)
def list_blacklist(args: dict[str, Any]) -> Any:
    """The dishonesty blacklist (失信黑名单, §12): listings, corrections and removals whose basis
    case my units hold, newest first, each with its basis case, date, reviewer and what became
    of it (removed; corrected, by which entry and why). For discipline, organization,
    supervisors and administrators."""
    with auth.reading() as (session, principal):
        return blacklist_views.entry_page(
            session,
            principal=principal,
            text=args.get("q"),
            current=args.get("current"),
            page=args["page"],
            per_page=args["per_page"],
        )


@blp.route("/blacklist/<int:entry_id>")
@blp.response(200, BlacklistEntryDetailSchema)
@_refusals(403, 404)
def get_blacklist_entry(entry_id: int) -> Any:
    """One entry, kept as it was entered even when corrected or removed, with its chain of
    corrections and, for an organization clerk who may correct it, the reviewers to choose from."""
    with auth.reading() as (session, principal):
        return blacklist_views.entry_detail(session, principal=principal, entry_id=entry_id)


@blp.route("/blacklist/<int:entry_id>/corrections", methods=["POST"])
@blp.arguments(BlacklistCorrectionArgs)
@blp.response(201, BlacklistEntrySchema)
@_refusals(403, 404, 409, 422)
def correct_blacklist_entry(args: dict[str, Any], entry_id: int) -> Any:
    """Correct (更正) an entry in force: a new entry with the corrected fields supersedes it and
    points at it; the original stays readable, marked corrected. Organization clerks of the unit
    holding its basis case only; `reason` and `reviewer` are required and at least one field must
    change. A removal record, a removed entry or one already corrected is refused on `entry_id`
    (correct the entry in force instead: corrections chain). Returns the new entry."""
    rt = auth.runtime()
    changes = blacklist.Changes(
        person_name=args.get("person_name"),
        basis_case_id=args.get("basis_case_id"),
        entered_on=args.get("entered_on"),
        listing_reason=args.get("listing_reason"),
    )
    with auth.writing() as (session, principal):
        created = blacklist.correct_entry(
            session,
            principal=principal,
            entry_id=entry_id,
            reviewer=args["reviewer"],
            reason=args["reason"],
            changes=changes,
            clock=rt.clock,
        )
        return blacklist_views.entry(session, principal=principal, entry_id=created.id)

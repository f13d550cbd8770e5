"""干部档案、提拔资格 (/api/v1/cadres); the blueprint also carries 失信黑名单 (server/api/blacklist.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from server import auth
from server.api.case_bodies import text
from server.api.cases import CaseSchema
from server.api.common import Blueprint, PageArgs, PageSchema
from workflows.cadres import views as cadre_views

blp = Blueprint("cadres", __name__, description="干部档案、提拔资格、失信黑名单")


class CadreListArgs(PageArgs):
    q = fields.String(validate=text(0, 100), metadata={"description": "姓名或职务"})


class CadreSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    post = fields.String(required=True, metadata={"description": "职务"})
    org_unit = fields.String(required=True, metadata={"description": "管理单位（干部管理权限）"})
    org_unit_name = fields.String(required=True)


class CadrePageSchema(PageSchema):
    items = fields.List(fields.Nested(CadreSchema), required=True)


class BanSchema(Schema):
    id = fields.Integer(required=True)
    adjustment = fields.String(required=True)
    adjustment_name = fields.String(
        required=True, metadata={"description": "调离岗位、改任非领导职务、免职、降职"}
    )
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "此日起可以提拔"})
    status = fields.String(
        required=True, metadata={"description": "active 有效、revoked 已撤销、changed 已变更"}
    )
    in_force = fields.Boolean(required=True, metadata={"description": "今天是否仍在影响期内"})
    case_id = fields.Integer(required=True)
    case_number = fields.String(required=True)
    note = fields.String(required=True)


class ToleranceNoteSchema(Schema):
    case_number = fields.String(required=True)
    outcome = fields.String(required=True)
    outcome_name = fields.String(required=True, metadata={"description": "免责、从轻或减轻处理"})
    decided_on = fields.Date(required=True)
    final = fields.Boolean(required=True, metadata={"description": "认定是否已生效"})


class CadreRecordSchema(CadreSchema):
    bans = fields.List(
        fields.Nested(BanSchema), required=True, metadata={"description": "提拔限制（§6）"}
    )
    tolerance_notes = fields.List(
        fields.Nested(ToleranceNoteSchema),
        required=True,
        metadata={"description": "容错免责记录（§12）"},
    )
    cases = fields.List(
        fields.Nested(CaseSchema), required=True, metadata={"description": "我能看到的本人案件"}
    )


class EligibilityArgs(Schema):
    on = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "查询日期，默认今天"}
    )


class EligibilitySchema(Schema):
    cadre_id = fields.Integer(required=True)
    name = fields.String(required=True)
    on = fields.Date(required=True)
    eligible = fields.Boolean(required=True)
    until = fields.Date(
        allow_none=True, metadata={"description": "不得提拔至此日（此日起可以提拔）"}
    )
    because = fields.List(fields.String(), required=True, metadata={"description": "所涉案件编号"})
    message = fields.String(required=True)


@blp.route("/cadres")
@blp.arguments(CadreListArgs, location="query")
@blp.response(200, CadrePageSchema)
def list_cadres(args: dict[str, Any]) -> Any:
    """Cadres in my jurisdiction (a cadre: only themself), by name; q filters by name or post."""
    with auth.reading() as (session, principal):
        return cadre_views.cadre_page(
            session,
            principal=principal,
            text=args.get("q"),
            page=args["page"],
            per_page=args["per_page"],
        )


@blp.route("/cadres/<int:cadre_id>")
@blp.response(200, CadreRecordSchema)
def get_cadre(cadre_id: int) -> Any:
    """A cadre's record: post and org unit, promotion bans (§6), tolerance notes (§12) and the
    cases about them that I may see. Visible within my jurisdiction and to the cadre themself."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        return cadre_views.cadre_record(
            session,
            principal=principal,
            cadre_id=cadre_id,
            today=rt.clock.today(),
            now=rt.clock.now(),
        )


@blp.route("/cadres/<int:cadre_id>/promotion-eligibility")
@blp.arguments(EligibilityArgs, location="query")
@blp.response(200, EligibilitySchema)
def promotion_eligibility(args: dict[str, Any], cadre_id: int) -> Any:
    """Whether the cadre may be promoted on a date (default today): if not, until when and
    because of which case (§6: 1 year after transfer, non-leadership post or dismissal; 2 after
    demotion)."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        return cadre_views.promotion_eligibility(
            session, principal=principal, cadre_id=cadre_id, on=args.get("on") or rt.clock.today()
        )

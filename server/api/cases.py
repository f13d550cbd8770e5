"""案件：立案、查询、详情、时间线、申诉、免责申请 (/api/v1/cases).

Who may open which kind of case is the domain's policy table (workflows/cases/intake.py);
what a list or a case shows are the views of workflows/cases/views.py, dumped here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import request
from marshmallow import Schema, fields, validate

from server import auth
from server.api import case_bodies
from server.api.case_bodies import AppealArgs, ExemptionArgs, text
from server.api.common import Blueprint, PageArgs, PageSchema, person_name
from server.api.tasks import TaskSchema
from workflows import access
from workflows.cases import intake
from workflows.cases import service as cases
from workflows.cases import views as case_views
from workflows.cases.models import CaseFile
from workflows.cases.views import CaseFilters, OpenedCaseView
from workflows.errors import ValidationFailed

blp = Blueprint("cases", __name__, description="案件：立案、查询、详情、时间线、申诉、免责申请")


# --- queries ---------------------------------------------------------------


class CaseListArgs(PageArgs):
    process = fields.String(
        validate=validate.OneOf(cases.PREFIXES),
        metadata={"description": "案件种类（流程键），如 accountability"},
    )
    status = fields.String(
        validate=validate.OneOf(case_views.STATUS_NAMES),
        metadata={
            "description": "open 办理中、decided 已作出决定、final 决定已生效、"
            "closed 已结案、overdue 已逾期、verifying 待验收"
        },
    )
    org_unit = fields.String(validate=text(1, 50), metadata={"description": "管辖单位代码"})
    cadre_id = fields.Integer(
        validate=validate.Range(min=1, max=access.MAX_ID), metadata={"description": "当事干部"}
    )
    overdue = fields.Boolean(
        metadata={"description": "true 只看逾期（有待办已过期限或已转督查督办）；false 只看未逾期"}
    )
    q = fields.String(validate=text(0, 100), metadata={"description": "案件编号、当事人或标题"})


# --- responses -------------------------------------------------------------------------------


class CaseSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"description": "案件编号，如 WZ-2026-000001"})
    process = fields.String(required=True, metadata={"description": "案件种类（流程键）"})
    kind_name = fields.String(required=True, metadata={"description": "案件种类中文名"})
    title = fields.String(required=True)
    subject_name = fields.String(
        required=True, metadata={"description": "当事干部（或被查处的诬告人）"}
    )
    cadre_id = fields.Integer(allow_none=True)
    org_unit = fields.String(required=True)
    org_unit_name = fields.String(required=True, metadata={"description": "管辖单位名称"})
    status = fields.String(required=True)
    status_name = fields.String(required=True)
    outcome = fields.String(allow_none=True)
    outcome_name = fields.String(allow_none=True, metadata={"description": "结果中文名"})
    source = fields.String(allow_none=True)
    registered_on = fields.Date(
        required=True,
        metadata={"description": "立案日期：期限自此起算（问责案件为立案时所定日期）"},
    )
    opened_at = fields.DateTime(required=True, metadata={"description": "登记时间：案件录入的时刻"})
    opened_by = fields.String(required=True)
    opened_by_name = person_name("立案人")
    closed_at = fields.DateTime(allow_none=True)
    next_due_at = fields.DateTime(allow_none=True, metadata={"description": "最近的待办期限"})
    overdue = fields.Boolean(required=True)


class CasePageSchema(PageSchema):
    items = fields.List(fields.Nested(CaseSchema), required=True)


class OpenedCaseSchema(CaseSchema):
    tasks = fields.List(
        fields.Nested(TaskSchema), required=True, metadata={"description": "新案件的待办"}
    )


class CadreBriefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    post = fields.String(required=True)
    org_unit = fields.String(required=True)


class DecisionSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(
        required=True, metadata={"description": "accountability、tolerance、appeal、verification"}
    )
    outcome = fields.String(required=True)
    adjustment = fields.String(allow_none=True)
    reason = fields.String(required=True)
    recommendation = fields.String(allow_none=True)
    departure_reason = fields.String(allow_none=True)
    decided_on = fields.Date(required=True)
    decided_by = fields.String(required=True)
    decided_by_name = person_name("决定人")
    corrects_id = fields.Integer(allow_none=True)
    effective = fields.String(
        required=True, metadata={"description": "effective 有效、modified 已变更、revoked 已撤销"}
    )
    served_on = fields.Date(
        allow_none=True,
        metadata={"description": "送达当事干部之日（尚未送达为 null；干部本人只看到已送达的决定）"},
    )


class TimelineSchema(Schema):
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    actor_name = person_name("操作人")
    role = fields.String(allow_none=True)
    action = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "中文说明"})
    task_id = fields.Integer(allow_none=True)
    task_name = fields.String(allow_none=True)
    element = fields.String(allow_none=True, metadata={"description": "BPMN 元素 id"})
    note = fields.String(allow_none=True, metadata={"description": "相关案件编号等"})


class LinkSchema(Schema):
    direction = fields.String(
        required=True, metadata={"description": "to 由本案引起；from 引起本案"}
    )
    kind = fields.String(required=True)
    case_id = fields.Integer(required=True, attribute="id")
    number = fields.String(required=True)
    process = fields.String(required=True)
    kind_name = fields.String(
        required=True, attribute="process_name", metadata={"description": "关联案件的种类"}
    )
    title = fields.String(required=True)
    status = fields.String(required=True)


class UrgeSchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    task_name = fields.String(required=True)
    urged_by = fields.String(required=True)
    urged_by_name = person_name("催办人")
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class DiagramSchema(Schema):
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    completed = fields.List(
        fields.String(), required=True, metadata={"description": "已走过的元素 id"}
    )
    active = fields.List(
        fields.String(), required=True, metadata={"description": "当前所在的元素 id"}
    )


class DiagramXmlSchema(DiagramSchema):
    bpmn_xml = fields.String(required=True, metadata={"description": "本案所用流程版本的 BPMN XML"})


class CaseDetailSchema(CaseSchema):
    cadre = fields.Nested(CadreBriefSchema, allow_none=True)
    received_on = fields.Date(allow_none=True, metadata={"description": "决定送达之日"})
    tasks = fields.List(
        fields.Nested(TaskSchema), required=True, metadata={"description": "当前待办及期限"}
    )
    decisions = fields.List(fields.Nested(DecisionSchema), required=True)
    timeline = fields.List(fields.Nested(TimelineSchema), required=True)
    links = fields.List(
        fields.Nested(LinkSchema), required=True, metadata={"description": "我能看到的关联案件"}
    )
    urges = fields.List(fields.Nested(UrgeSchema), required=True)
    comments_count = fields.Integer(required=True)
    diagram = fields.Nested(DiagramSchema, allow_none=True)
    actions = fields.List(
        fields.String(validate=validate.OneOf(case_views.ACTIONS)),
        required=True,
        metadata={
            "description": "我现在能对本案做的事：file_appeal 申诉（申诉期内）、"
            "apply_for_exemption 申请免责、add_document 添加材料"
        },
    )


# --- shaping ---------------------------------------------------------------------------------


def _opened(session: Any, principal: access.Principal, case: CaseFile) -> OpenedCaseView:
    return case_views.opened_case(
        session, principal=principal, case=case, clock=auth.runtime().clock
    )


@contextmanager
def _fields_renamed(names: Mapping[str, str], *, default_prefix: str = "") -> Iterator[None]:
    """A domain refusal names fields of the domain's input; the client needs those of its body."""
    kept = {"cadre_id", "subject_name", "org_unit", "process", "title", "source"}
    try:
        yield
    except ValidationFailed as err:
        renamed = [
            {
                **item,
                "field": names.get(
                    item["field"],
                    item["field"] if item["field"] in kept else f"{default_prefix}{item['field']}",
                ),
            }
            for item in err.errors
        ]
        raise ValidationFailed(err.message, renamed) from err


# --- routes ----------------------------------------------------------------------------------


@blp.route("/cases")
@blp.arguments(CaseListArgs, location="query")
@blp.response(200, CasePageSchema)
def list_cases(args: dict[str, Any]) -> Any:
    """Cases I may see, newest first: filter by process, status, org unit, cadre, overdue and text
    (number, subject, title). A cadre sees only their own cases."""
    rt = auth.runtime()
    filters = CaseFilters(
        process=args.get("process"),
        status=args.get("status"),
        org_unit=args.get("org_unit"),
        cadre_id=args.get("cadre_id"),
        overdue=args.get("overdue"),
        text=args.get("q"),
    )
    with auth.reading() as (session, principal):
        return case_views.case_page(
            session,
            principal=principal,
            filters=filters,
            page=args["page"],
            per_page=args["per_page"],
            now=rt.clock.now(),
        )


@blp.route("/cases", methods=["POST"])
@blp.doc(**case_bodies.OPEN_BODY_DOC)
@blp.response(201, OpenedCaseSchema)
def open_case() -> Any:
    """Open a case: accountability (立案, discipline or organization), rectification (the issuing
    department), clarification (discipline, organization; the unit or the cadre on request) or an
    exemption application (tolerance_review; the clerks, the unit or the cadre). The cadre must
    be in my jurisdiction (404 otherwise); the start data is checked by the process (422 names
    the field). Returns the case with its first tasks."""
    rt = auth.runtime()
    body = request.get_json(silent=True)
    with auth.writing() as (session, principal):
        intake.check_may_open(principal, case_bodies.open_kind(body))
        args, names = case_bodies.load_open_body(body)
        with _fields_renamed(names, default_prefix="data."):
            case = intake.open_on_request(
                session,
                principal=principal,
                kind=args["process"],
                data=args["start"],
                clock=rt.clock,
                cadre_id=args.get("cadre_id"),
                person_name=args.get("subject_name"),
                org_unit=args.get("org_unit"),
                title=args.get("title"),
            )
        return _opened(session, principal, case)


@blp.route("/cases/<int:case_id>")
@blp.response(200, CaseDetailSchema)
def get_case(case_id: int) -> Any:
    """One case: status, outcome, cadre, current tasks with due dates and how they were computed,
    decisions, the timeline from the audit trail, linked cases I may see, urges, comments, and the
    elements passed and active for highlighting the diagram."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        return case_views.case_detail(session, principal=principal, case_id=case_id, clock=rt.clock)


@blp.route("/cases/<int:case_id>/diagram")
@blp.response(200, DiagramXmlSchema)
def get_diagram(case_id: int) -> Any:
    """The BPMN XML of the process version this case runs on, with the element ids passed
    (completed) and active now, for highlighting in bpmn-js."""
    with auth.reading() as (session, principal):
        return case_views.case_diagram(session, principal=principal, case_id=case_id)


@blp.route("/cases/<int:case_id>/appeals", methods=["POST"])
@blp.arguments(AppealArgs)
@blp.response(201, OpenedCaseSchema)
def file_appeal(args: dict[str, Any], case_id: int) -> Any:
    """Appeal (申诉) the decision of this case within the window from its receipt: by the cadre
    concerned, or registered by the managing unit's discipline or organization clerks from the
    cadre's written appeal. A late appeal is refused naming filed_on and the window's end.
    Returns the new appeal case."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        with _fields_renamed({"original_case_id": "case_id"}):
            case = intake.appeal_on_request(
                session,
                principal=principal,
                case_id=case_id,
                grounds=args["grounds"],
                filed_on=args.get("filed_on") or rt.clock.today(),
                clock=rt.clock,
            )
        return _opened(session, principal, case)


@blp.route("/cases/<int:case_id>/exemption-applications", methods=["POST"])
@blp.arguments(ExemptionArgs)
@blp.response(201, OpenedCaseSchema)
def apply_for_exemption(args: dict[str, Any], case_id: int) -> Any:
    """Apply for exemption (免责申请) while this accountability case is open: by the cadre's unit or
    the cadre, or registered by the managing unit's discipline or organization clerks. Opens a
    tolerance review linked to the case and returns it."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        review = intake.exemption_on_request(
            session,
            principal=principal,
            case_id=case_id,
            reasons=args["reasons"],
            applicant=args.get("applicant"),
            facts=args.get("facts"),
            clock=rt.clock,
        )
        return _opened(session, principal, review)

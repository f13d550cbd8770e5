"""Request bodies of the case resources: the body of each kind of case a person
opens (one marshmallow schema per variant, documented together as a oneOf), appeals and
exemption applications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, ValidationError, fields, validate

from server.errors import field_map
from server.schemas import text  # also imported from here by other resources
from workflows import access
from workflows.cases import intake
from workflows.cases import service as cases
from workflows.errors import ValidationFailed
from workflows.messages import t

_FILLED = text(1, 20_000, blank=False)
_ID = validate.Range(min=1, max=access.MAX_ID)


# --- opening a case: the start data of each kind ------------------------------------------------


class AccountabilityData(Schema):
    facts = fields.String(required=True, validate=_FILLED, metadata={"description": "问题事实"})
    evidence = fields.String(required=True, validate=_FILLED, metadata={"description": "证据材料"})


class RectificationData(Schema):
    requirements = fields.String(
        required=True, validate=_FILLED, metadata={"description": "纠错整改要求"}
    )
    deadline = fields.Date(
        required=True, metadata={"description": "整改期限（签发时确认，不得早于签发之日）"}
    )
    issued_by = fields.String(
        validate=text(1, 100, blank=False), metadata={"description": "决定机关（留空为登记人）"}
    )


class ClarificationRequestData(Schema):
    report = fields.String(
        required=True, validate=_FILLED, metadata={"description": "所反映的问题"}
    )
    related_case_id = fields.Integer(validate=_ID, metadata={"description": "所涉案件（可选）"})


class ClarificationFoundData(Schema):
    report = fields.String(
        required=True, validate=_FILLED, metadata={"description": "所反映的问题"}
    )
    related_case_id = fields.Integer(
        required=True, validate=_ID, metadata={"description": "发现不实反映的案件"}
    )


class ToleranceApplicationData(Schema):
    reasons = fields.String(required=True, validate=_FILLED, metadata={"description": "申请理由"})
    facts = fields.String(
        required=True, validate=_FILLED, metadata={"description": "失误错误的事实"}
    )


_SOURCE_HELP = {
    "accountability": "问题线索来源",
    "rectification": "整改依据",
    "clarification": "启动方式",
    "tolerance_review": "申请人",
}


def _variant(
    name: str, kind: str, sources: list[str], data: type[Schema], *, named: bool = False
) -> type[Schema]:
    names = intake.ORIGINS[kind]
    attrs: dict[str, Any] = {
        "process": fields.String(
            required=True,
            validate=validate.OneOf([kind]),
            metadata={"description": f"{kind} {cases.KIND_NAMES[kind]}"},
        ),
        "title": fields.String(
            validate=text(1, 400), metadata={"description": "标题（留空按当事人和种类生成）"}
        ),
        "source": fields.String(
            required=True,
            validate=validate.OneOf(sources),
            metadata={
                "description": f"{_SOURCE_HELP[kind]}："
                + "、".join(f"{key} {names[key]}" for key in sources)
            },
        ),
        "data": fields.Nested(data, required=True),
    }
    if named:
        attrs["subject_name"] = fields.String(
            required=True,
            validate=text(1, 200, blank=False),
            metadata={"description": "当事人姓名（不是在册干部时）"},
        )
        attrs["org_unit"] = fields.String(
            required=True,
            validate=text(1, 50),
            metadata={"description": "管辖单位（本人管辖范围内）"},
        )
    else:
        attrs["cadre_id"] = fields.Integer(
            required=True, validate=_ID, metadata={"description": "当事干部"}
        )
    return Schema.from_dict(attrs, name=name)


_REQUESTS = ["cadre_request", "unit_request"]
OPEN_VARIANTS: dict[tuple[str, bool, bool], type[Schema]] = {
    ("accountability", False, False): _variant(
        "OpenAccountability",
        "accountability",
        list(intake.ORIGINS["accountability"]),
        AccountabilityData,
    ),
    ("rectification", False, False): _variant(
        "OpenRectification",
        "rectification",
        list(intake.ORIGINS["rectification"]),
        RectificationData,
    ),
    ("tolerance_review", False, False): _variant(
        "OpenExemptionApplication",
        "tolerance_review",
        list(intake.ORIGINS["tolerance_review"]),
        ToleranceApplicationData,
    ),
    ("clarification", False, False): _variant(
        "OpenClarification", "clarification", _REQUESTS, ClarificationRequestData
    ),
    ("clarification", False, True): _variant(
        "OpenClarificationFoundInCase", "clarification", ["found_in_case"], ClarificationFoundData
    ),
    ("clarification", True, False): _variant(
        "OpenClarificationOfPerson",
        "clarification",
        _REQUESTS,
        ClarificationRequestData,
        named=True,
    ),
    ("clarification", True, True): _variant(
        "OpenClarificationOfPersonFoundInCase",
        "clarification",
        ["found_in_case"],
        ClarificationFoundData,
        named=True,
    ),
}


def _inline(_schema: type[Schema]) -> str:
    return ""  # no name: nested schemas are written out in place


def _json_schema(schema: type[Schema]) -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=_inline)
    APISpec("cadreflow", "v1", "3.0.3", plugins=[plugin])
    assert plugin.converter is not None
    converted: dict[str, Any] = plugin.converter.schema2jsonschema(schema)
    return converted


#: The documented body of POST /cases: exactly one of the variants above.
OPEN_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [_json_schema(variant) for variant in OPEN_VARIANTS.values()],
                    "description": "按案件种类填写；申诉请在原案件上提出（POST /cases/{id}/appeals）",
                }
            }
        },
    }
}


def open_kind(body: Any) -> str:
    """The kind of case a body asks to open; ValidationFailed naming `process` otherwise."""
    kind = body.get("process") if isinstance(body, Mapping) else None
    if kind == "appeal":
        raise ValidationFailed(
            t("§11 申诉针对已作出的决定：请在原案件上提出申诉"),
            [{"field": "process", "message": t("申诉请在原案件上提出")}],
        )
    if not isinstance(kind, str) or kind not in intake.OPENERS:  # an object or a list is no key
        raise ValidationFailed(
            t("请指明案件种类"),
            [
                {
                    "field": "process",
                    "message": t("应为以下之一：%(names)s", names="、".join(intake.OPENERS)),
                }
            ],
        )
    return str(kind)


def load_open_body(body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The body loaded by the variant it is meant as, with the start data for intake; and how
    the domain's field names map back to the body's."""
    kind = open_kind(body)
    named = (
        kind == "clarification"
        and "cadre_id" not in body
        and ("subject_name" in body or "org_unit" in body)
    )
    found = kind == "clarification" and body.get("source") == "found_in_case"
    try:
        args: dict[str, Any] = OPEN_VARIANTS[(kind, named, found)]().load(body)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"(body)": err.messages}
        problems = field_map(messages)
        raise ValidationFailed(
            t("请求有误：请按各字段的提示修改"),
            [{"field": f, "message": m} for f, texts in problems.items() for m in texts],
        ) from None
    origin = intake.ORIGIN_KEYS[kind]
    args["start"] = {**args["data"], origin: args["source"]}
    names = {
        "kind": "process",
        "subject": "subject_name",
        origin: "source",
        **{key: f"data.{key}" for key in intake.START_FIELDS[kind] if key != origin},
    }
    return args, names


# --- filing against a case ------------------------------------------------------------------------


class AppealArgs(Schema):
    grounds = fields.String(required=True, validate=_FILLED, metadata={"description": "申诉理由"})
    filed_on = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "提出申诉之日（书面申诉的收到日期；留空为今天）"},
    )


class ExemptionArgs(Schema):
    reasons = fields.String(required=True, validate=_FILLED, metadata={"description": "申请理由"})
    facts = fields.String(
        validate=_FILLED,
        allow_none=True,
        metadata={"description": "失误错误的事实（留空沿用问责案件的立案事实）"},
    )
    applicant = fields.String(
        validate=validate.OneOf(list(intake.ORIGINS["tolerance_review"])),
        allow_none=True,
        metadata={
            "description": "申请人 unit 所在单位、cadre 干部本人；所在单位、干部本人提出时"
            "可省略，纪检监察机关、组织部门登记书面申请时必填"
        },
    )

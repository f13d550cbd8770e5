"""Argument schemas the API and the pages share: the same marshmallow rules check a JSON body
and a posted form (the pages read their messages with server/ui/form_errors.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from workflows import access
from workflows.cases import blacklist
from workflows.cases.service import DEADLINE_DEFAULTS
from workflows.engine import calendar_overrides
from workflows.messages import t
from workflows.org import admin, people
from workflows.org import service as org
from workflows.roles import ROLES

_NAME = validate.Regexp(r"^[A-Za-z0-9._@-]+$", error=t("只能包含字母、数字和 . _ @ -"))
_CODE = validate.Regexp(r"^[A-Za-z0-9_-]+$", error=t("只能包含字母、数字和 _ -"))


# -- users and org units -----------------------------------------------------------------
#: 姓名 and 职务 (people are shown as 姓名（单位·岗位）); the domain checks them again, trimmed.
def _display_name(value: str) -> None:
    if not 1 <= len(value) <= people.NAME_MAX:  # a t() message: marshmallow's format would drop it
        raise ValidationError(t("姓名应为 1 到 %(max)s 个字", max=people.NAME_MAX))


def _post(value: str) -> None:
    if len(value) > people.POST_MAX:
        raise ValidationError(t("职务不能超过 %(max)s 个字", max=people.POST_MAX))


class UserCreateArgs(Schema):
    username = fields.String(required=True, validate=[validate.Length(min=1, max=100), _NAME])
    display_name = fields.String(
        required=True,
        validate=_display_name,
        metadata={"description": "姓名，1 到 50 个字（人员显示为 姓名（单位·岗位））"},
    )
    post = fields.String(
        load_default=None,
        allow_none=True,
        validate=_post,
        metadata={"description": "职务（可不填）：至多 100 个字；不填时岗位显示为角色名称"},
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=8, max=200),
        metadata={"description": "至少 8 个字符"},
    )
    role = fields.String(required=True, validate=validate.OneOf(list(ROLES)))
    org_unit = fields.String(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "本人管理范围内的单位代码"},
    )
    cadre_id = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=access.MAX_ID),
        metadata={"description": "干部档案 id（干部本人账户必填）"},
    )
    email = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "邮箱（可不填）：配置了邮件时，通知也发到这里；至多 254 个字符"},
    )


class UserPatchArgs(Schema):
    display_name = fields.String(
        validate=_display_name, metadata={"description": "姓名，1 到 50 个字"}
    )
    post = fields.String(
        allow_none=True,
        validate=_post,
        metadata={"description": "职务，至多 100 个字；空字符串或 null 表示删除"},
    )
    role = fields.String(validate=validate.OneOf(list(ROLES)))
    org_unit = fields.String(validate=validate.Length(min=1, max=50))
    active = fields.Boolean(metadata={"description": "false 停用账户（其会话随即失效）"})
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=8, max=200),
        metadata={"description": "重置密码（其会话随即失效）"},
    )
    unlock = fields.Boolean(load_default=False, metadata={"description": "true 解除登录失败锁定"})
    email = fields.String(
        metadata={"description": "新的邮箱；空字符串表示删除（此后通知只在站内显示）"}
    )


class OrgUnitCreateArgs(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=50), _CODE])
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    level = fields.String(required=True, validate=validate.OneOf(org.LEVELS))
    parent = fields.String(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "上级单位：本人单位或其下级"},
    )


# -- the working-day calendar ------------------------------------------------------------
YEARS = validate.Range(min=calendar_overrides.YEARS[0], max=calendar_overrides.YEARS[1])


class DayArgs(Schema):
    is_workday = fields.Boolean(
        required=True, metadata={"description": "true 工作日（调休）；false 假日"}
    )
    note = fields.String(load_default="", validate=validate.Length(max=200))


class YearArgs(Schema):
    year = fields.Integer(required=True, validate=YEARS)
    note = fields.String(load_default="", validate=validate.Length(max=200))


# -- deadline settings -------------------------------------------------------------------
DEADLINE_NAMES = {
    "appeal_window_months": "申诉期限（月）",
}


def deadline_field(key: str, *, required: bool) -> fields.Integer:
    """One deadline setting: a whole number in admin.DEADLINE_RANGE."""
    low, high = admin.DEADLINE_RANGE
    label = DEADLINE_NAMES.get(key, key)
    return fields.Integer(
        required=required,
        strict=True,
        validate=validate.Range(min=low, max=high),
        metadata={"description": f"{label}，默认 {DEADLINE_DEFAULTS[key]}"},
    )


DeadlinesArgs = Schema.from_dict(
    {key: deadline_field(key, required=False) for key in DEADLINE_DEFAULTS}, name="DeadlinesArgs"
)


# -- text rules ------------------------------------------------------------------------------
def plain(value: str) -> None:
    """Text without NUL characters (PostgreSQL stores none)."""
    if "\x00" in value:
        raise ValidationError(t("不能包含空字符（NUL）"))


def text(min_length: int, max_length: int, *, blank: bool = True) -> list[Any]:
    """Length limits, no NUL, and (unless `blank`) at least one visible character."""
    rules: list[Any] = [validate.Length(min=min_length, max=max_length), plain]
    if not blank:
        rules.append(validate.Regexp(r"^\s*\S", error=t("不能为空白")))
    return rules


# -- correcting a blacklist entry (更正) ------------------------------------------------------
class BlacklistCorrectionArgs(Schema):
    reviewer = fields.String(
        required=True,
        validate=text(1, 100, blank=False),
        metadata={
            "description": "审核人的用户名：依据案件所在单位的组织部门或纪检监察机关人员，"
            "不能是本人（可选的人见条目的 reviewers）"
        },
    )
    reason = fields.String(
        required=True,
        validate=text(1, blacklist.REASON_MAX, blank=False),
        metadata={"description": "更正理由"},
    )
    person_name = fields.String(
        validate=text(1, blacklist.NAME_MAX, blank=False),
        metadata={"description": "更正后的姓名（不填则不变）"},
    )
    basis_case_id = fields.Integer(
        validate=validate.Range(min=1, max=access.MAX_ID),
        metadata={"description": "更正后的依据案件（不填则不变）"},
    )
    entered_on = fields.Date(metadata={"description": "更正后的列入日期，不晚于今日（不填则不变）"})
    listing_reason = fields.String(
        validate=text(1, blacklist.REASON_MAX, blank=False),
        metadata={"description": "更正后的列入理由（不填则不变）"},
    )

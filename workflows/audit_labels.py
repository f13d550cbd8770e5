"""The audit trail's words (审计日志): a Chinese name for every action code, object type and
detail key, and a row's detail as readable 键：值 pairs. One table for the audit page and
the case timeline alike, so that a code is named once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflows.cases.service import KIND_NAMES
from workflows.engine.form_messages import choices
from workflows.official.kinds import KINDS as DOCUMENT_KINDS
from workflows.official.kinds import MANNERS
from workflows.roles import ROLES

#: Every action an audit row records (`audit.record(action=...)`); a test keeps it complete.
ACTION_LABELS: dict[str, str] = {
    "case.open": "登记案件",
    "case.appeal": "提出申诉",
    "case.exemption_application": "提出免责申请",
    "instance.start": "流程启动",
    "instance.migrate": "迁移到新版本流程",
    "instance.migration_revert": "撤销迁移",
    "task.complete": "办理",
    "task.draft": "暂存表单",
    "task.claim": "认领任务",
    "task.unclaim": "取消认领",
    "task.return": "退回",
    "task.withdraw": "撤回",
    "task.reopen": "重新打开",
    "task.delegate": "委派任务",
    "task.transfer": "转办任务",
    "task.urge": "催办",
    "task.escalate": "督办上报",
    "task.comment": "发表意见",
    "task.copy": "抄送",
    "task.remind_alarm": "临期提醒",
    "task.overdue_alarm": "逾期提醒",
    "task.supervision_alarm": "督办期限届至",
    "timer.fire": "期限届至",
    "timer.error": "定时器出错",
    "timer.cancel": "撤销出错的定时器",
    "message.deliver": "收到关联案件的结果",
    "incident.retry": "故障重试",
    "incident.resolve": "故障已解决",
    "incident.cancel": "故障已取消",
    "document.add": "添加材料",
    "document.withdraw": "撤回材料",
    "official_document.generate": "生成公文",
    "official_document.pdf": "公文转为 PDF",
    "official_document.pdf_failed": "公文 PDF 生成失败",
    "official_document.pdf_retry": "公文 PDF 重新转换",
    "official_document.receipt": "上传送达回证",
    "official_document.serve": "送达公文",
    "official_numbering.put": "设置公文文号",
    "official_template.upload": "上传公文模板",
    "document.download": "下载材料",
    "blacklist.correct": "更正失信黑名单条目",
    "consultation.ask": "加签征求意见",
    "consultation.answer": "回复意见",
    "consultation.withdraw": "撤回征求意见",
    "copy.read": "阅读抄送",
    "notification.read": "阅读通知",
    "notification.sweep": "补发待办通知",
    "mail.retry": "重发邮件",
    "auth.login": "登录",
    "auth.logout": "退出登录",
    "auth.failed": "登录失败",
    "auth.locked": "账号锁定",
    "auth.token_issued": "签发接口令牌",
    "auth.token_revoked": "吊销接口令牌",
    "api.refused": "拒绝接口请求",
    "admin.user.create": "新建用户",
    "admin.user.update": "修改用户",
    "admin.org_unit.create": "新建机构",
    "settings.deadlines": "设置办理期限",
    "settings.time_limit": "设置步骤时限",
    "calendar.set_day": "设置日历日",
    "calendar.clear_day": "清除日历日设置",
    "calendar.declare_year": "声明年度节假日",
    "calendar.change_set": "录入放假安排",
    "clock.move": "调整系统时钟",
    "process.deploy": "部署流程",
    "process.migrate_instances": "批量迁移流程实例",
    "decision.deploy": "部署决策表",
    "form.draft_save": "保存表单草稿",
    "form.draft_discard": "放弃表单草稿",
    "form.draft_deploy": "部署表单草稿",
    "demo.load": "载入演示数据",
}

#: The kinds of object a row is about (`audit.record(object_type=...)`).
OBJECT_LABELS: dict[str, str] = {
    "api_token": "接口令牌",
    "blacklist_entry": "失信黑名单条目",
    "calendar": "工作日历",
    "case": "案件",
    "clock": "系统时钟",
    "consultation": "征求意见",
    "copy": "抄送",
    "decision": "决策表",
    "demo": "演示数据",
    "document": "材料",
    "form": "表单",
    "incident": "故障",
    "instance": "流程实例",
    "mail": "邮件",
    "notification": "通知",
    "official_document": "公文",
    "official_template": "公文模板",
    "org_unit": "机构",
    "process": "流程",
    "request": "接口请求",
    "session": "登录会话",
    "setting": "设置",
    "settings": "设置",
    "task": "任务",
    "user": "用户",
}

#: The keys of rows' details, for people; a key not named here shows as written.
DETAIL_LABELS: dict[str, str] = {
    "active": "启用",
    "added": "新增",
    "address": "地址",
    "after": "改后",
    "alarm": "提醒编号",
    "all": "全部",
    "appeal_window_months": "申诉期限（月）",
    "applicant": "申请人",
    "assignee": "办理人",
    "attempt": "尝试次数",
    "attempts": "尝试次数",
    "before": "改前",
    "by": "操作方",
    "cadre_id": "干部编号",
    "cadres": "干部",
    "cancelled": "已取消",
    "case_id": "案件编号",
    "case_number": "案件号",
    "changes": "变更",
    "chars": "字数",
    "committee": "党委(党组)",
    "confirmed_warnings": "已确认的提醒",
    "consultation_id": "征求意见编号",
    "content_type": "文件类型",
    "correction_reason": "更正理由",
    "corrects_entry_id": "更正的条目",
    "data": "表单内容",
    "date": "日期",
    "day": "日期",
    "days": "天数",
    "detail": "说明",
    "display_name": "姓名",
    "document_id": "材料编号",
    "due_at": "期限",
    "element": "流程元素",
    "email": "电子邮箱",
    "entry_id": "条目",
    "error": "错误",
    "failed_logins": "登录失败次数",
    "field": "字段",
    "file": "文件",
    "filed_on": "提出日期",
    "filename": "文件名",
    "fire_at": "触发时间",
    "from": "原值",
    "from_task": "原任务",
    "from_version": "原版本",
    "going_back": "退回",
    "hash": "哈希",
    "holiday": "节假日",
    "id": "编号",
    "ids": "编号",
    "incident": "故障",
    "ip": "IP 地址",
    "issue": "期次",
    "key": "标识",
    "kind": "类别",
    "last_error": "最近的错误",
    "level": "级别",
    "locked_until": "锁定至",
    "manner": "送达方式",
    "marked": "标记",
    "message": "消息",
    "migration": "迁移",
    "missing": "未回复",
    "moved": "调整",
    "name": "名称",
    "names": "人员",
    "note": "附言",
    "notified": "已通知",
    "number": "编号",
    "open_since": "开始时间",
    "opinion": "意见",
    "org_unit": "机构",
    "origin": "来源",
    "outcome": "结果",
    "parent": "上级机构",
    "parent_unit": "上级机构",
    "password": "密码",
    "post": "岗位",
    "process": "流程",
    "processes": "流程",
    "question": "征求的问题",
    "reason": "理由",
    "refused": "被拒绝",
    "reopened_task": "重新打开的任务",
    "reported_to": "报告对象",
    "restored": "已恢复",
    "result": "结果",
    "retried_by": "重试人",
    "retry_at": "重试时间",
    "reviewer": "复核人",
    "revision": "修订号",
    "role": "角色",
    "seq": "实例版本",
    "served_on": "送达日期",
    "sha256": "文件哈希",
    "size": "大小（字节）",
    "source": "线索来源",
    "step": "步骤",
    "step_name": "步骤",
    "superseded": "已作废",
    "task": "任务",
    "task_id": "任务编号",
    "template_version": "模板版本",
    "timers": "定时器",
    "title": "标题",
    "to": "改为",
    "to_name": "退回至",
    "to_version": "新版本",
    "units": "机构",
    "unlock": "解锁",
    "until": "期限至",
    "urge_id": "催办编号",
    "username": "用户名",
    "version": "版本",
    "was": "原值",
    "withdrawn": "已撤回",
    "workday": "工作日",
}

#: Coded values of the keys that hold one (a kind of case, document or alarm; a result); the
#: values of `process` and `processes` are also named by the deployed processes' names.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "kind": {
        **KIND_NAMES,
        **{key: kind.title for key, kind in DOCUMENT_KINDS.items()},
        "tolerance": "容错免责",
        "assigned": "待办分配",
        "remind": "临期提醒",
        "overdue": "逾期提醒",
        "supervision": "督办",
        "workday": "工作日",
        "holiday": "节假日",
    },
    "manner": MANNERS,
    "password": {"reset": "已重置"},
    "result": {"ok": "成功"},
}
VALUE_LABELS["process"] = VALUE_LABELS["processes"] = VALUE_LABELS["kind"]
YES_NO = {True: "是", False: "否"}
NOTHING = {None: "无"}
#: The detail key that holds a step's form data, named by the form's titles and choices.
FORM_DATA = "data"
#: The detail key that holds a task's element id, shown as the step's name when known.
STEP = "task"
#: A value that is a content hash (SHA-256, hex): data, shown shortened.
HASH = re.compile(r"[0-9a-f]{64}")

#: The kinds of value shown (`Shown.kind`).
LABEL, DATA, DIGEST, ITEMS, PAIRS = "label", "data", "hash", "items", "pairs"


@dataclass(frozen=True)
class Shown:
    """One value of a row's detail as people read it: a `LABEL` of the product (a coded value's
    or a form's Chinese name, which the page translates), `DATA` as written (ids, dates, names,
    numbers, free text: never translated), a `DIGEST` (a hash, data too), several values
    (`ITEMS`, joined by 、) or labelled `PAIRS` (a nested map)."""

    kind: str
    text: str = ""
    items: tuple[Shown, ...] = ()
    pairs: tuple[Pair, ...] = ()


@dataclass(frozen=True)
class Pair:
    """A detail key by its Chinese label (the key as written when unnamed), and its value."""

    key: str
    value: Shown


def action_label(action: str) -> str:
    """The Chinese name of an action code (the code itself when unnamed)."""
    return ACTION_LABELS.get(action, action)


def object_label(object_type: str) -> str:
    """The Chinese name of an object type (the code itself when unnamed)."""
    return OBJECT_LABELS.get(object_type, object_type)


def detail_view(
    detail: Mapping[str, Any],
    *,
    form: Mapping[str, Any] | None = None,
    step: str | None = None,
    processes: Mapping[str, str] | None = None,
) -> tuple[Pair, ...]:
    """A row's detail as labelled pairs, in the order written. `form`: the fields (a JSON
    Schema's properties) of the form whose data the detail holds (`FORM_DATA`), which name its
    keys and choices; `step`: the name of the step whose element id the detail's `task` holds;
    `processes`: the deployed processes' names by key."""
    named = _Names(form or {}, processes or {})
    return tuple(
        Pair(
            DETAIL_LABELS.get(key, key),
            Shown(LABEL, step)
            if key == STEP and step and isinstance(value, str)
            else named.value(key, value),
        )
        for key, value in detail.items()
    )


def detail_pairs(
    detail: Mapping[str, Any],
    *,
    form: Mapping[str, Any] | None = None,
    step: str | None = None,
    processes: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """A row's detail as (labelled key, value) texts in Chinese: `detail_view` read out."""
    view = detail_view(detail, form=form, step=step, processes=processes)
    return [(pair.key, plain(pair.value)) for pair in view]


def plain(shown: Shown) -> str:
    """A value as one Chinese text: 、 between items, 键：值 pairs joined by ，."""
    if shown.kind == ITEMS:
        return "、".join(plain(item) for item in shown.items)
    if shown.kind == PAIRS:
        return "，".join(f"{pair.key}：{plain(pair.value)}" for pair in shown.pairs)
    return shown.text


@dataclass(frozen=True)
class _Names:
    form: Mapping[str, Any]
    processes: Mapping[str, str]

    def value(self, key: str, value: Any) -> Shown:
        """One value: yes/no for flags, role names, coded values by their labels, lists as
        items, nested maps as pairs (form data by its fields' titles), nothing as 无."""
        if value is None or value == "" or value == [] or value == {}:
            return Shown(LABEL, NOTHING[None])
        if isinstance(value, bool):
            return Shown(LABEL, YES_NO[value])
        if isinstance(value, Mapping):
            if key == FORM_DATA and self.form:
                return Shown(PAIRS, pairs=self._form_pairs(value))
            return Shown(PAIRS, pairs=detail_view(value, processes=self.processes))
        if isinstance(value, list | tuple):
            return Shown(ITEMS, items=tuple(self.value(key, item) for item in value))
        text = str(value)
        if key == "role" and text in ROLES:
            return Shown(LABEL, ROLES[text])
        if key in ("process", "processes") and text in self.processes:
            return Shown(LABEL, self.processes[text])
        named = VALUE_LABELS.get(key, {}).get(text)
        if named is not None:
            return Shown(LABEL, named)
        if isinstance(value, str) and HASH.fullmatch(value):
            return Shown(DIGEST, text)
        return Shown(DATA, text)

    def _form_pairs(self, data: Mapping[str, Any]) -> tuple[Pair, ...]:
        """Form data as 标题：值 pairs: a field by its title, a choice by its label."""
        shown = []
        for key, value in data.items():
            found = self.form.get(key)
            field: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
            labels = dict(choices(field) or []) if field else {}
            title = str(field.get("title") or DETAIL_LABELS.get(key, key))
            if isinstance(value, str | int) and not isinstance(value, bool) and value in labels:
                shown.append(Pair(title, Shown(LABEL, str(labels[value]))))
            else:
                shown.append(Pair(title, _Names({}, self.processes).value(key, value)))
        return tuple(shown)

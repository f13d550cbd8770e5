"""The audit trail's words (审计日志): a Chinese name for every action code, object type and
detail key, and a row's detail as readable 键：值 pairs. One table for the audit page and
the case timeline alike, so that a code is named once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workflows.engine.form_messages import choices
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
    "added": "新增",
    "address": "地址",
    "after": "改后",
    "all": "全部",
    "applicant": "申请人",
    "assignee": "办理人",
    "attempt": "尝试次数",
    "attempts": "尝试次数",
    "before": "改前",
    "by": "操作方",
    "cadre_id": "干部编号",
    "cadres": "干部",
    "case_id": "案件编号",
    "case_number": "案件号",
    "changes": "变更",
    "chars": "字数",
    "confirmed_warnings": "已确认的提醒",
    "consultation_id": "征求意见编号",
    "content_type": "文件类型",
    "corrects_entry_id": "更正的条目",
    "data": "表单内容",
    "date": "日期",
    "day": "日期",
    "days": "天数",
    "detail": "说明",
    "display_name": "姓名",
    "due_at": "期限",
    "element": "流程元素",
    "entry_id": "条目",
    "field": "字段",
    "file": "文件",
    "filed_on": "提出日期",
    "filename": "文件名",
    "fire_at": "触发时间",
    "from_task": "原任务",
    "from_version": "原版本",
    "going_back": "退回",
    "hash": "哈希",
    "holiday": "节假日",
    "id": "编号",
    "ids": "编号",
    "incident": "故障",
    "ip": "IP 地址",
    "key": "标识",
    "kind": "类别",
    "last_error": "最近的错误",
    "level": "级别",
    "marked": "标记",
    "message": "消息",
    "migration": "迁移",
    "missing": "未回复",
    "moved": "调整",
    "name": "名称",
    "names": "人员",
    "note": "附言",
    "notified": "已通知",
    "number": "案件号",
    "opinion": "意见",
    "open_since": "开始时间",
    "org_unit": "机构",
    "origin": "来源",
    "outcome": "结果",
    "parent": "上级机构",
    "post": "岗位",
    "process": "流程",
    "processes": "流程",
    "question": "征求的问题",
    "reason": "理由",
    "refused": "被拒绝",
    "result": "结果",
    "revision": "修订号",
    "role": "角色",
    "seq": "实例版本",
    "step": "步骤",
    "source": "线索来源",
    "step_name": "步骤",
    "task": "任务",
    "task_id": "任务编号",
    "timers": "定时器",
    "to": "至",
    "to_name": "退回至",
    "to_version": "新版本",
    "units": "机构",
    "username": "用户名",
    "version": "版本",
    "was": "原值",
    "workday": "工作日",
}

#: Coded values of the keys that hold one (a process kind, a notice kind, a result).
VALUE_LABELS: dict[str, dict[str, str]] = {
    "kind": {
        "accountability": "问责",
        "tolerance": "容错免责",
        "appeal": "申诉",
        "rectification": "纠错整改",
        "clarification": "澄清正名",
        "assigned": "待办分配",
        "remind": "临期提醒",
        "overdue": "逾期提醒",
        "supervision": "督办",
    },
    "result": {"ok": "成功"},
}
VALUE_LABELS["process"] = VALUE_LABELS["kind"]
YES_NO = {True: "是", False: "否"}
NOTHING = {None: "无"}
#: The detail key that holds a step's form data, named by the form's titles and choices.
FORM_DATA = "data"
#: The detail key that holds a task's element id, shown as the step's name when known.
STEP = "task"


def _same(text: str) -> str:
    return text


def action_label(action: str) -> str:
    """The Chinese name of an action code (the code itself when unnamed)."""
    return ACTION_LABELS.get(action, action)


def object_label(object_type: str) -> str:
    """The Chinese name of an object type (the code itself when unnamed)."""
    return OBJECT_LABELS.get(object_type, object_type)


def detail_pairs(
    detail: Mapping[str, Any],
    *,
    form: Mapping[str, Any] | None = None,
    step: str | None = None,
    translate: Callable[[str], str] = _same,
) -> list[tuple[str, str]]:
    """A row's detail as (labelled key, readable value) pairs, in the order written. `form`:
    the fields (a JSON Schema's properties) of the form whose data the detail holds
    (`FORM_DATA`), which name its keys and choices; `step`: the name of the step whose
    element id the detail's `task` holds; `translate`: the page's catalog, applied to every
    label (kept Chinese when not given)."""
    return [
        (
            translate(DETAIL_LABELS.get(key, key)),
            translate(step)
            if key == STEP and step and isinstance(value, str)
            else _value(key, value, form or {}, translate),
        )
        for key, value in detail.items()
    ]


def _form_pairs(
    data: Mapping[str, Any], form: Mapping[str, Any], translate: Callable[[str], str]
) -> str:
    """Form data as 标题：值 pairs: a field by its title, a choice by its label."""
    shown = []
    for key, value in data.items():
        found = form.get(key)
        field: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        labels = dict(choices(field) or []) if field else {}
        title = str(field.get("title") or key)
        if isinstance(value, str | int) and not isinstance(value, bool) and value in labels:
            text = translate(str(labels[value]))
        else:
            text = _value(key, value, {}, translate)
        shown.append(f"{translate(title)}：{text}")
    return "，".join(shown)


def _value(key: str, value: Any, form: Mapping[str, Any], translate: Callable[[str], str]) -> str:
    """One value in words: yes/no for flags, role names, lists joined with 、, nested maps as
    键：值 pairs (form data by its fields' titles), nothing as 无."""
    if value is None or value == "" or value == [] or value == {}:
        return translate(NOTHING[None])
    if isinstance(value, bool):
        return translate(YES_NO[value])
    if isinstance(value, Mapping):
        if key == FORM_DATA and form:
            return _form_pairs(value, form, translate)
        return "，".join(
            f"{label}：{text}" for label, text in detail_pairs(value, translate=translate)
        )
    if isinstance(value, list | tuple):
        return "、".join(_value(key, item, form, translate) for item in value)
    if key == "role":
        return translate(ROLES.get(str(value), str(value)))
    named = VALUE_LABELS.get(key, {}).get(str(value))
    return translate(named) if named is not None else str(value)

"""Role keys (DOMAIN.md §1); BPMN lanes are named by them."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "discipline": "纪检监察机关",
    "organization": "组织部门",
    "functional": "相关职能部门",
    "committee": "党委(党组)",
    "unit": "所在单位",
    "cadre": "干部本人",
    "supervisor": "督查",
    "designer": "流程设计",
    "admin": "系统管理",
}

#: The lane of escalations (督办): a case's deadline timer hands overdue work to it, as a
#: task without a due date of its own.
ESCALATION_ROLE = "supervisor"

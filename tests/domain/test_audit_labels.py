"""Every action the code records in the audit trail has a Chinese name (审计日志, the case's
办理经过), and a row's detail reads as labelled 键：值 pairs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from workflows import audit_labels
from workflows.engine import time_limits
from workflows.tasks import going_back

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
PREFIXES = {action.split(".")[0] for action in audit_labels.ACTION_LABELS}
#: Constants shaped like an action that are not one: templates, columns, settings keys.
NOT_ACTIONS = re.compile(
    r"\.(html|id|docx)$|^(auth\.(session|token)_with_user|clock\.offset_seconds|demo\.scenarios)$"
)


def _recorded_actions() -> set[str]:
    """The action codes written in workflows/ and server/: string constants shaped like one
    whose first word is an action family, and those built from a kind (`task.{kind}_alarm`,
    `task.{kind}` of going back)."""
    found = {
        f"task.{kind}_alarm"
        for kind in (time_limits.REMIND, time_limits.OVERDUE, time_limits.SUPERVISION)
    } | {f"task.{kind}" for kind in (going_back.RETURN, going_back.WITHDRAW)}
    for path in [*ROOT.joinpath("workflows").rglob("*.py"), *ROOT.joinpath("server").rglob("*.py")]:
        if "migrations" in path.parts or path.name == "audit_labels.py":
            continue
        found.update(
            node.value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and CODE.match(node.value)
            and node.value.split(".")[0] in PREFIXES
            and not NOT_ACTIONS.search(node.value)
        )
    return found


def test_every_recorded_action_has_a_chinese_name() -> None:
    recorded = _recorded_actions()
    assert {"auth.login", "api.refused", "calendar.set_day", "task.claim"} <= recorded
    assert recorded - set(audit_labels.ACTION_LABELS) == set()


def test_detail_reads_as_labelled_pairs() -> None:
    pairs = audit_labels.detail_pairs(
        {
            "by": {"ip": "10.0.0.1", "role": "admin"},
            "kind": "clarification",
            "notified": ["a", "b"],
            "holiday": True,
            "note": None,
            "result": "ok",
        }
    )
    assert pairs == [
        ("操作方", "IP 地址：10.0.0.1，角色：系统管理"),
        ("类别", "澄清正名"),
        ("已通知", "a、b"),
        ("节假日", "是"),
        ("附言", "无"),
        ("结果", "成功"),
    ]
    assert audit_labels.action_label("no.such_action") == "no.such_action"
    assert audit_labels.object_label("task") == "任务"

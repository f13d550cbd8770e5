"""Designer's lint of a BPMN file: structure the engine would accept but a case could not run
through, and steps a clerk could not work on. Pure reading of the XML; the deployment's
`check` adds what it finds to its problems, with a severity.

Severities (README, 流程设计):

- error (deploying is refused): an element without an incoming sequence flow (start events,
  boundary events, event subprocesses and compensation handlers excepted), without an
  outgoing one (end events and those same exceptions excepted), or not reachable from a
  start event; an exclusive or inclusive gateway with more than one outgoing flow where some
  flow has no condition and the gateway has no default; a user task outside a lane of a
  known role (checked with the compiled spec, `deployment._check_user_tasks`).
- warning (deploying needs a confirmation): a user task without a form, or without a time
  limit rule (timeLimit, dueAt, timeLimitSameAs, a boundary timer, or an administrator's
  setting for the step all count as one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from workflows.messages import t

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

_FLOW_NODES = {
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "manualTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
}
_SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
_CONDITIONAL_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "complexGateway"}

#: Chinese names of element kinds, for messages.
KIND_NAMES = {
    "userTask": "人工任务",
    "scriptTask": "脚本任务",
    "serviceTask": "服务任务",
    "businessRuleTask": "规则任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关",
    "inclusiveGateway": "包容网关",
    "parallelGateway": "并行网关",
    "eventBasedGateway": "事件网关",
}


@dataclass(frozen=True)
class Finding:
    element: str
    name: str
    severity: str
    reason: str


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, "元素")


def _is_entry(node: etree._Element, kind: str) -> bool:
    """Elements that start without an incoming sequence flow."""
    return (
        kind in ("startEvent", "boundaryEvent")
        or node.get("triggeredByEvent") == "true"
        or node.get("isForCompensation") == "true"
    )


def _is_exit(node: etree._Element, kind: str) -> bool:
    return (
        kind == "endEvent"
        or node.get("triggeredByEvent") == "true"
        or node.get("isForCompensation") == "true"
    )


def structure(root: etree._Element) -> list[Finding]:
    """Disconnected and unreachable elements and gateways without conditions or a default,
    for every process (and subprocess) in the file."""
    found: list[Finding] = []
    for scope in root.iter(f"{{{BPMN_NS}}}process"):
        found.extend(_scope(scope))
    return found


def _scope(scope: etree._Element) -> list[Finding]:
    found: list[Finding] = []
    nodes: dict[str, etree._Element] = {}
    flows: list[etree._Element] = []
    for child in scope:
        kind = _local(child)
        if kind in _FLOW_NODES and child.get("id"):
            nodes[child.get("id") or ""] = child
        elif kind == "sequenceFlow":
            flows.append(child)
    incoming: dict[str, list[etree._Element]] = {key: [] for key in nodes}
    outgoing: dict[str, list[etree._Element]] = {key: [] for key in nodes}
    for flow in flows:
        source, target = flow.get("sourceRef") or "", flow.get("targetRef") or ""
        if source in outgoing:
            outgoing[source].append(flow)
        if target in incoming:
            incoming[target].append(flow)
    attached: dict[str, list[str]] = {}
    for key, node in nodes.items():
        if _local(node) == "boundaryEvent":
            attached.setdefault(node.get("attachedToRef") or "", []).append(key)
    reached: set[str] = set()
    todo = [key for key, node in nodes.items() if _is_entry(node, _local(node))]
    todo = [key for key in todo if _local(nodes[key]) != "boundaryEvent"]
    while todo:
        key = todo.pop()
        if key in reached:
            continue
        reached.add(key)
        todo.extend(f.get("targetRef") or "" for f in outgoing[key] if f.get("targetRef") in nodes)
        todo.extend(attached.get(key, []))
    for key, node in nodes.items():
        kind = _local(node)
        name = node.get("name") or ""
        what = _kind_name(kind)
        if not incoming[key] and not _is_entry(node, kind):
            found.append(
                Finding(key, name, ERROR, t("%(what)s没有连入的顺序流（未连接）", what=what))
            )
        elif key not in reached:
            found.append(Finding(key, name, ERROR, t("%(what)s从开始事件无法到达", what=what)))
        if not outgoing[key] and not _is_exit(node, kind):
            found.append(
                Finding(
                    key,
                    name,
                    ERROR,
                    t("%(what)s没有连出的顺序流（未连接），应连到后续步骤或结束事件", what=what),
                )
            )
        if kind in _CONDITIONAL_GATEWAYS and len(outgoing[key]) > 1 and not node.get("default"):
            bare = [
                f.get("id") or ""
                for f in outgoing[key]
                if not (f.findtext(f"{{{BPMN_NS}}}conditionExpression") or "").strip()
            ]
            if bare:
                found.append(
                    Finding(
                        key,
                        name,
                        ERROR,
                        t(
                            "%(what)s有 %(count)s 条连出的顺序流，其中 %(flows)s 没有条件，且网"
                            "关没有默认流：请为每条流设置条件或指定默认流",
                            what=what,
                            count=len(outgoing[key]),
                            flows="、".join(bare),
                        ),
                    )
                )
        if kind in _SCOPES:
            found.extend(_scope(node))
    return found


def timed_by_boundary(root: etree._Element) -> set[str]:
    """Ids of the activities a boundary timer is attached to."""
    return {
        node.get("attachedToRef") or ""
        for node in root.iter(f"{{{BPMN_NS}}}boundaryEvent")
        if node.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None
    }


def names(root: etree._Element) -> dict[str, str]:
    """Element id → its name, for naming elements in messages."""
    return {
        node.get("id") or "": node.get("name") or ""
        for node in root.iter()
        if isinstance(node.tag, str) and node.get("id")
    }


# -- the evaluator's and other checks' English reasons, in Chinese ---------------------------

_KINDS_ZH = {
    "attribute access": "属性访问（.）",
    "lambda": "lambda",
    "list comprehension": "列表推导式",
    "set comprehension": "集合推导式",
    "dict comprehension": "字典推导式",
    "generator expression": "生成器表达式",
    "assignment expression (:=)": "赋值表达式（:=）",
    "f-string": "f 字符串",
    "starred unpacking": "星号解包",
    "await": "await",
    "yield": "yield",
    "import": "import 导入",
    "for loop": "for 循环",
    "while loop": "while 循环",
    "if statement": "if 语句",
    "function definition (def)": "函数定义（def）",
    "function definition": "函数定义",
    "class definition": "类定义",
    "dict unpacking (**)": "字典解包（**）",
    "chained assignment": "连续赋值",
    "string formatting with %": "用 % 格式化字符串",
}

_PY_MSGS = {
    "invalid syntax": "语法无效",
    "unexpected EOF while parsing": "表达式意外结束",
    "unterminated string literal": "字符串没有结束引号",
    "unmatched ')'": "多了右括号",
    "'(' was never closed": "左括号没有闭合",
    "unexpected indent": "缩进不正确",
    "invalid decimal literal": "数字写法无效",
}


def _py(msg: str) -> str:
    for english, chinese in _PY_MSGS.items():
        if msg.startswith(english):
            return chinese + msg[len(english) :]
    return msg


def _allowed(match: re.Match[str]) -> str:
    kind = match.group(1)
    rest = match.group(2) or ""
    zh = _KINDS_ZH.get(kind, kind)
    return f"不允许使用{zh}{rest}"


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^syntax error on line (\d+): (.*)$"),
        lambda m: f"第 {m[1]} 行语法错误：{_py(m[2])}",
    ),
    (re.compile(r"^syntax error: (.*)$"), lambda m: f"语法错误：{_py(m[1])}"),
    (re.compile(r"^line (\d+): (.*)$"), lambda m: f"第 {m[1]} 行：{translate(m[2])}"),
    (re.compile(r"^cannot be parsed: (.*)$"), lambda m: f"无法解析：{m[1]}"),
    (
        re.compile(r"^(?:expression|script) is longer than (\d+) characters$"),
        lambda m: f"长度超过 {m[1]} 个字符",
    ),
    (
        re.compile(r"^expression is nested deeper than (\d+) levels$"),
        lambda m: f"嵌套超过 {m[1]} 层",
    ),
    (
        re.compile(r"^name '([^']*)' is not allowed \(names starting with '_' are reserved\)$"),
        lambda m: f"不允许使用名称 '{m[1]}'（以 _ 开头的名称保留）",
    ),
    (re.compile(r"^name '([^']*)' is not defined$"), lambda m: f"名称 '{m[1]}' 未定义"),
    (
        re.compile(r"^function '([^']*)' is not registered$"),
        lambda m: f"函数 '{m[1]}' 未登记，不能调用",
    ),
    (
        re.compile(r"^only registered functions can be called, by their bare name$"),
        lambda m: "只能直接按名称调用已登记的函数",
    ),
    (
        re.compile(r"^keyword arguments are not allowed \(function '([^']*)'\)$"),
        lambda m: f"不允许使用关键字参数（函数 '{m[1]}'）",
    ),
    (
        re.compile(r"^operator '([^']*)' is not allowed(.*)$"),
        lambda m: f"不允许使用运算符 '{m[1]}'{m[2]}",
    ),
    (
        re.compile(r"^constant of type (\w+) is not allowed$"),
        lambda m: f"不允许使用 {m[1]} 类型的常量",
    ),
    (
        re.compile(r"^(\w+ )?assignment is not allowed \(only 'name = expression'\)$"),
        lambda m: "只允许“名称 = 表达式”形式的赋值",
    ),
    (re.compile(r"^(.+?) is not allowed in a script$"), lambda m: f"脚本中{_allowed_text(m[1])}"),
    (re.compile(r"^(.+?) is not allowed( .*)?$"), _allowed),
    (
        re.compile(r"^Multiple outgoing flows are not supported for tasks of type"),
        lambda m: "任务不能有多条连出的顺序流：请用网关分支",
    ),
    (
        re.compile(r"^Non-default exclusive outgoing sequence flow without condition"),
        lambda m: "排他网关连出的非默认顺序流没有条件",
    ),
]


def _allowed_text(kind: str) -> str:
    return f"不允许使用{_KINDS_ZH.get(kind, kind)}"


def translate(reason: str) -> str:
    """A check's English reason in Chinese; what no pattern knows keeps its words after a
    Chinese lead, so that nothing is lost."""
    for pattern, word in _PATTERNS:
        match = pattern.match(reason)
        if match:
            return word(match)
    if re.search(r"[\u4e00-\u9fff]", reason):
        return reason
    return f"校验未通过：{reason}"

"""Domain errors speak Chinese (English only through the catalog): every message written
at a raise site in workflows/, or given to a domain error anywhere there, has Chinese in it.

Checked on the source: a string literal (or the msgid of `t("…")`) in a message position —
the message argument of a domain error, a refusal helper's argument that is not a field
name, the `message` of a field entry. Builtin exceptions (ValueError, TypeError, …) are the
code's own faults, not messages for people. ExpressionError's reasons are the evaluator's
words, which the definition check (workflows/definitions/lint.py) says again in Chinese.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

from workflows import errors
from workflows.engine import spiff, timer_values
from workflows.messages import t

ROOT = Path(__file__).resolve().parent.parent / "workflows"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
#: A field name (or path) given to a refusal helper, never a message.
LETTER = re.compile(r"[^\W\d_]")
FIELD = re.compile(r"^[\w./\[\]()-]*$")
PLACEHOLDER = re.compile(r"%\(\w+\)[sr]")
#: Domain errors whose first argument is not their message.
NOT_A_MESSAGE = {"ExpressionError", "_LimitExceeded", "UnknownCalendarYear"}
BUILTIN = {n for n in dir(builtins) if n.endswith(("Error", "Exception"))} | {
    "WorkflowTaskException",
    "TimeLimitRefused",  # a ValueError whose callers word it again (step_limits.py)
}


def _domain_errors() -> set[str]:
    found: set[str] = set()
    for module in (errors, spiff, timer_values):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, errors.DomainError):
                found.add(name)
    return found


DOMAIN = _domain_errors() | {"BlacklistChangeRefused"}


def _text(node: ast.expr) -> str | None:
    """The words of a literal message: a string, an f-string's literal parts, a t() msgid."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "t" and node.args:
        return _text(node.args[0])
    if isinstance(node, ast.IfExp):
        return _text(node.body) or _text(node.orelse)
    return None


def _field_name(words: str | None) -> bool:
    """A field name (or path) given to a refusal helper: no spaces, no Chinese."""
    return words is not None and bool(FIELD.match(words)) and not CHINESE.search(words)


def _positions(tree: ast.AST) -> list[ast.expr]:
    """Every expression in a message position of a module."""
    found: list[ast.expr] = []
    raised = {id(n.exc) for n in ast.walk(tree) if isinstance(n, ast.Raise) and n.exc}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "message":
                    found.append(value)
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func).split(".")[-1]
        if name in BUILTIN or name in NOT_A_MESSAGE:
            continue
        if name in DOMAIN and node.args:
            found.append(node.args[0])
        elif id(node) in raised:  # a refusal helper: its arguments that are not field names
            found.extend(a for a in node.args if not _field_name(_text(a)))
    return found


def _messages(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, words) of every literal message in a module."""
    return [(node.lineno, words) for node in _positions(tree) if (words := _text(node)) is not None]


def _plain(node: ast.expr) -> bool:
    """A Chinese message written as a bare string or f-string: said in Chinese only."""
    if isinstance(node, ast.IfExp):
        return _plain(node.body) or _plain(node.orelse)
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return bool(CHINESE.search(_text(node) or ""))
    return False


def _english(words: str) -> bool:
    """Words with letters and no Chinese (a message composed of values only is not read)."""
    return bool(LETTER.search(PLACEHOLDER.sub("", words))) and not CHINESE.search(words)


def test_every_domain_message_is_written_in_chinese() -> None:
    english = [
        f"{path.relative_to(ROOT.parent)}:{line}: {words!r}"
        for path in sorted(ROOT.rglob("*.py"))
        for line, words in _messages(ast.parse(path.read_text(encoding="utf-8")))
        if _english(words)
    ]
    assert english == [], "messages for people are written in Chinese:\n" + "\n".join(english)


def test_every_chinese_message_is_a_t_message() -> None:
    """A Chinese message at a raise site or in a field entry goes through t(), so that the
    web layer can say it in English too (audit_labels.py names columns, not refusals)."""
    plain = [
        f"{path.relative_to(ROOT.parent)}:{node.lineno}: {ast.unparse(node)[:60]}"
        for path in sorted(ROOT.rglob("*.py"))
        if path.name != "audit_labels.py"
        for node in _positions(ast.parse(path.read_text(encoding="utf-8")))
        if _plain(node)
    ]
    assert plain == [], "Chinese messages not marked with t():\n" + "\n".join(plain)


def test_the_check_finds_a_plain_chinese_message() -> None:
    source = """
def f(task):
    raise Conflict(f"任务 {task} 已办结")
    raise _refuse("reason", "请填写理由")
    raise ValidationFailed(t("一个"), [{"field": "x", "message": "应为对象"}])
    raise _refuse("reason", t("请填写理由"))
    raise NotFound(t("任务 %(task)s 不存在", task=task))
"""
    found = [node.lineno for node in _positions(ast.parse(source)) if _plain(node)]
    assert sorted(found) == [3, 4, 5]


def test_the_check_finds_an_english_message() -> None:
    """The check above can fail: each kind of message position it reads is caught."""
    source = """
def f(field):
    raise NotFound(f"task {field} not found")
    raise _refuse("reason", "a reason is needed")
    raise ValidationFailed(t("一个"), [{"field": "x", "message": "expected an object"}])
    return Conflict(t("reload and retry"))
    raise _refuse("reason", "须说明理由")
    raise ExpressionError("x + 1", "not checked here")
"""
    found = [line for line, words in _messages(ast.parse(source)) if _english(words)]
    assert sorted(found) == [3, 4, 5, 6]


def test_a_message_is_the_chinese_text_and_keeps_its_msgid() -> None:
    said = t("任务 %(task_id)s 不存在", task_id=7)
    assert said == "任务 7 不存在"
    assert (said.msgid, said.params) == ("任务 %(task_id)s 不存在", {"task_id": 7})
    english = {"任务 %(task_id)s 不存在": "task %(task_id)s not found"}
    assert said.said(lambda msgid: english.get(msgid, msgid)) == "task 7 not found"

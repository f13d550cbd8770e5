"""The names in the process definitions (bpmn/*.bpmn: processes, lanes, tasks, events; the
decision tables of bpmn/decisions/*.dmn), the
texts of the forms (forms/*.json: titles, help, option labels, rule wordings) and the labels of
coded values kept in workflows/ (statuses, outcomes, kinds, audit actions) as catalog messages,
so that English pages name processes and steps, show forms and labels in English. `make
messages` runs these through server/ui/babel.cfg; pages translate a text at render time (the
`content` and `label` filters), and a text the catalog lacks (a newly deployed process, a
designer's new form) stays as written. workflows/ also marks the messages it says to people
with `t("…")` (workflows/messages.py); `extract_workflows` reads both from one file."""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from babel.messages.extract import extract_python
from lxml import etree

#: The BPMN elements whose names people read.
NAMED = frozenset(
    {
        "process",
        "lane",
        "userTask",
        "task",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "decision",
    }
)
#: The properties of a user task whose values people read in how its due date was computed
#: (期限如何计算, workflows/engine/time_limits.py): the day a limit counts from, the rule fixing it.
WORDED_PROPERTIES = frozenset({"timeLimitFromLabel", "timeLimitPolicy"})
_CJK = re.compile(r"[\u4e00-\u9fff]")


def extract_bpmn(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """babel's extractor interface: (line, function, message, comments) for every Chinese
    name of a named element (lanes named by a role key are the roles' own labels) and every
    Chinese value of a worded property (`WORDED_PROPERTIES`)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for node in etree.parse(fileobj, parser).getroot().iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if local == "property" and node.get("name") in WORDED_PROPERTIES:
            name = (node.get("value") or "").strip()
        elif local in NAMED:
            name = (node.get("name") or "").strip()
        else:
            continue
        if _CJK.search(name):
            yield node.sourceline or 0, None, name, []


#: Keys of a form (forms/*.json, JSON Schema and UI schema) whose texts people read; any
#: `ui:` key of the UI schema (ui:help, ui:placeholder, …) too.
FORM_TEXTS = frozenset({"title", "description", "enumNames", "errorMessage"})


def extract_form(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """babel's extractor interface for a form: every Chinese title, description, option label
    (`oneOf` titles, `enumNames`), rule wording (an `if`/`then`'s description, `errorMessage`)
    and UI schema text (`ui:help`, `ui:placeholder`), on the line where it is written. Values
    (`const`, `enum`) are codes, not texts, and stay out."""
    source = fileobj.read().decode("utf-8")
    lines = source.splitlines()
    for text in _form_texts(json.loads(source), None):
        quoted = json.dumps(text, ensure_ascii=False)
        line = next((n for n, row in enumerate(lines, 1) if quoted in row), 0)
        yield line, None, text, []


def _form_texts(node: Any, key: str | None) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _form_texts(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _form_texts(value, key)
    elif (
        isinstance(node, str)
        and key is not None
        and (key in FORM_TEXTS or key.startswith("ui:"))
        and _CJK.search(node)
    ):
        yield node.strip()


def extract_labels(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """babel's extractor interface for workflows/: the Chinese labels of its coded values — the
    values of its public module-level tables (`STATUS_NAMES = {"open": "办理中", …}`, tuples
    of rows, nested tables too). workflows/ keeps them as plain Chinese and never imports
    Flask; pages translate them at render with the `label` filter. Patterns that code fills (`{unit}…`) are left out."""
    tree = ast.parse(fileobj.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or target.id.startswith("_"):
            continue
        if isinstance(value, ast.Dict | ast.Tuple):
            yield from _table_labels(value)


def _table_labels(table: ast.expr) -> Iterator[tuple[int, None, str, list[str]]]:
    """The Chinese strings among a table's values (a dict's values, a tuple's items), nested."""
    items = table.values if isinstance(table, ast.Dict) else getattr(table, "elts", [])
    for value in items:
        if isinstance(value, ast.Dict | ast.Tuple):
            yield from _table_labels(value)
        elif (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and _CJK.search(value.value)
            and "{" not in value.value
        ):
            yield value.lineno, None, value.value, []


def extract_workflows(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str | None, Any, Any]]:
    """babel's extractor for a module of workflows/: its `t("…")` messages and the labels of
    its tables, unless the section's `data` lists the module (the demo's tables are its data:
    people's names and posts) or says `labels = no`. babel gives a file to one extractor only, hence both here."""
    source = fileobj.read()
    name = str(getattr(fileobj, "name", "")).replace("\\", "/")
    is_data = options.get("labels") == "no" or any(
        name.endswith(module) for module in options.get("data", "").split()
    )
    for line, _function, message, comments in extract_python(
        io.BytesIO(source), {"t": None}, comment_tags, options
    ):  # as a plain message: the caller's keywords do not know `t`
        yield line, None, message, comments
    if not is_data:
        yield from extract_labels(io.BytesIO(source), keywords, comment_tags, options)

"""The names in the process definitions (bpmn/*.bpmn: processes, lanes, tasks, events) as
catalog messages, so that English pages name processes and steps in English. `make messages`
runs this through server/ui/babel.cfg; pages translate a name with `_()` at render time, and a
name the catalog lacks (a newly deployed process) stays as it was written.
`extract_labels` does the same for the labels of coded values kept in workflows/ (statuses,
outcomes, kinds, audit actions), which pages translate with the `label` filter."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import IO, Any

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
    }
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def extract_bpmn(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """babel's extractor interface: (line, function, message, comments) for every Chinese
    name of a named element (lanes named by a role key are the roles' own labels)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for node in etree.parse(fileobj, parser).getroot().iter():
        if not isinstance(node.tag, str) or etree.QName(node).localname not in NAMED:
            continue
        name = (node.get("name") or "").strip()
        if _CJK.search(name):
            yield node.sourceline or 0, None, name, []


def extract_labels(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """babel's extractor interface for workflows/: the Chinese labels of its coded values — the
    values of its public module-level tables (`STATUS_NAMES = {"open": "办理中", …}`, tuples
    of rows, nested tables too). workflows/ keeps them as plain Chinese and never imports Flask; pages translate
    them at render with the `label` filter. Patterns that code fills (`{unit}…`) are left out."""
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

"""The names in the process definitions (bpmn/*.bpmn: processes, lanes, tasks, events) and the
texts of the forms (forms/*.json: titles, help, option labels, rule wordings) as catalog
messages, so that English pages name processes and steps and show forms in English. `make
messages` runs these through server/ui/babel.cfg; pages translate a text at render time, and a
text the catalog lacks (a newly deployed process, a designer's new form) stays as written."""

from __future__ import annotations

import json
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

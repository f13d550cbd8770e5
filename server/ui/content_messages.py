"""The names in the process definitions (bpmn/*.bpmn: processes, lanes, tasks, events; the
decision tables of bpmn/decisions/*.dmn) as
catalog messages, so that English pages name processes and steps in English. `make messages`
runs this through server/ui/babel.cfg; pages translate a name with `_()` at render time, and a
name the catalog lacks (a newly deployed process) stays as it was written."""

from __future__ import annotations

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
        "decision",
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

"""Differences between two deployed versions of a process: elements added, removed and changed
(name, type, properties, lane, flow ends and conditions) and forms changed. A pure comparison
of what each version stored; only designers and administrators read it (they read the XML)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from workflows.access import Principal
from workflows.definitions import catalog, xmlgate
from workflows.definitions.lint import BPMN_NS, KIND_NAMES
from workflows.engine.models import ProcessVersion

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SKIPPED = {
    "definitions",
    "process",
    "collaboration",
    "participant",
    "laneSet",
    "lane",
    "extensionElements",
    "documentation",
    "incoming",
    "outgoing",
    "flowNodeRef",
    "conditionExpression",
    "script",
}
_STORED_BYTES = 50_000_000  # stored XML passed the gate at deploy; this only re-reads it


@dataclass(frozen=True)
class Element:
    id: str
    kind: str
    name: str
    lane: str | None
    properties: dict[str, str]


@dataclass(frozen=True)
class Change:
    id: str
    kind: str
    kind_name: str
    name: str
    changes: list[dict[str, Any]] = field(default_factory=list)  # what, before, after


@dataclass
class VersionDiff:
    key: str
    old: int
    new: int
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    forms_added: list[str] = field(default_factory=list)
    forms_removed: list[str] = field(default_factory=list)
    forms_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.added,
                self.removed,
                self.changed,
                self.forms_added,
                self.forms_removed,
                self.forms_changed,
            )
        )


def elements(xml: str) -> dict[str, Element]:
    """Every element with an id that a designer draws, by id (diagram shapes excluded)."""
    root = xmlgate.parse(xml.encode("utf-8"), filename="stored.bpmn", max_bytes=_STORED_BYTES)
    lanes: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id") or ""
    found: dict[str, Element] = {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        qname = etree.QName(node)
        if qname.namespace != BPMN_NS or qname.localname in _SKIPPED or not node.get("id"):
            continue
        if node.getparent() is not None and etree.QName(node.getparent()).localname.endswith(
            "EventDefinition"
        ):
            continue
        props: dict[str, str] = {}
        for attr in ("sourceRef", "targetRef", "default", "attachedToRef", "calledElement"):
            if node.get(attr):
                props[attr] = node.get(attr) or ""
        condition = node.findtext(f"{{{BPMN_NS}}}conditionExpression")
        if condition and condition.strip():
            props["condition"] = condition.strip()
        script = node.findtext(f"{{{BPMN_NS}}}script")
        if script and script.strip():
            props["script"] = script.strip()
        doc = node.findtext(f"{{{BPMN_NS}}}documentation")
        if doc and doc.strip():
            props["documentation"] = doc.strip()
        for child in node:
            if isinstance(child.tag, str) and etree.QName(child).localname.endswith(
                "EventDefinition"
            ):
                props["event"] = etree.QName(child).localname
                for timer in child:
                    if isinstance(timer.tag, str):
                        props[etree.QName(timer).localname] = (timer.text or "").strip()
        for prop in node.iter(f"{{{SPIFF_NS}}}property"):
            props[prop.get("name") or ""] = prop.get("value") or ""
        for tag in ("preScript", "postScript"):
            text = node.findtext(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}{tag}")
            if text and text.strip():
                props[tag] = text.strip()
        key = node.get("id") or ""
        found[key] = Element(key, qname.localname, node.get("name") or "", lanes.get(key), props)
    return found


def _entry(element: Element, changes: list[dict[str, Any]] | None = None) -> Change:
    kind_name = "顺序流" if element.kind == "sequenceFlow" else KIND_NAMES.get(element.kind, "元素")
    return Change(element.id, element.kind, kind_name, element.name, changes or [])


def compare_rows(old: ProcessVersion, new: ProcessVersion) -> VersionDiff:
    """What changed from version `old` to version `new` of the same process."""
    result = VersionDiff(old.process_key, old.version, new.version)
    before, after = elements(old.bpmn_xml), elements(new.bpmn_xml)
    for key in sorted(after.keys() - before.keys()):
        result.added.append(_entry(after[key]))
    for key in sorted(before.keys() - after.keys()):
        result.removed.append(_entry(before[key]))
    for key in sorted(before.keys() & after.keys()):
        a, b = before[key], after[key]
        changes: list[dict[str, Any]] = []
        for what, x, y in (
            ("type", a.kind, b.kind),
            ("name", a.name, b.name),
            ("lane", a.lane, b.lane),
        ):
            if x != y:
                changes.append({"what": what, "before": x, "after": y})
        for prop in sorted(a.properties.keys() | b.properties.keys()):
            x, y = a.properties.get(prop), b.properties.get(prop)
            if x != y:
                changes.append({"what": f"property:{prop}", "before": x, "after": y})
        if changes:
            result.changed.append(_entry(b, changes))
    forms_a: dict[str, Any] = json.loads(old.forms_json or "{}")
    forms_b: dict[str, Any] = json.loads(new.forms_json or "{}")
    result.forms_added = sorted(forms_b.keys() - forms_a.keys())
    result.forms_removed = sorted(forms_a.keys() - forms_b.keys())
    result.forms_changed = sorted(
        k for k in forms_a.keys() & forms_b.keys() if forms_a[k] != forms_b[k]
    )
    return result


def compare(session: Session, *, principal: Principal, key: str, old: int, new: int) -> VersionDiff:
    """The difference between two versions of process `key`; designers and administrators
    only (Forbidden otherwise), NotFound names a missing version."""
    catalog.check_may_read_sources(principal)
    return compare_rows(
        catalog.version_row(session, key=key, version=old),
        catalog.version_row(session, key=key, version=new),
    )

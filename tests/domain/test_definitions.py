"""Every shipped definition validates, and every process is drawn for people to read:
lanes named by roles, Chinese names, documentation citing the source, full diagram."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from workflows.definitions import deployment
from workflows.roles import ROLES

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
}
CASE_PROCESSES = ["accountability", "tolerance_review", "appeal", "rectification", "clarification"]
PROCESS_FILES = sorted(BPMN_DIR.glob("*.bpmn"))
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "scriptTask",
    "task",
    "manualTask",
    "businessRuleTask",
    "serviceTask",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
)
TASKS = ("userTask", "scriptTask", "businessRuleTask", "manualTask", "callActivity", "task")
CJK = re.compile(r"[\u4e00-\u9fff]")
CITATION = re.compile(r"§\s*\d|第[一二三四五六七八九十百\d]+条")


def test_every_bpmn_and_dmn_file_validates_with_the_shipped_forms() -> None:
    checked = deployment.check(
        deployment.collect([BPMN_DIR]),
        form_source=deployment.FormFolder(FORMS_DIR),
        max_bytes=2_000_000,
    )
    assert [str(p) for p in checked.problems] == []
    assert set(CASE_PROCESSES) <= {p.process_id for p in checked.processes}
    assert "six_elements" in {decision for decision, _ in checked.decisions}


@pytest.mark.parametrize("path", sorted(FORMS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_form_file_is_json_and_every_schema_has_chinese_titles(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    if path.name.endswith(".schema.json"):
        assert CJK.search(document.get("title", "")), "the form needs a Chinese title"
        for name, prop in document.get("properties", {}).items():
            assert CJK.search(prop.get("title", "")), f"field {name} needs a Chinese title"


@pytest.mark.parametrize("name", CASE_PROCESSES)
def test_each_case_process_is_its_own_file_named_by_its_id(name: str) -> None:
    root = etree.parse(str(BPMN_DIR / f"{name}.bpmn")).getroot()
    assert [p.get("id") for p in root.findall("bpmn:process", NS)] == [name]


@pytest.mark.parametrize("path", PROCESS_FILES, ids=lambda p: p.name)
def test_process_is_drawn_in_role_lanes_with_chinese_names_and_sources(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    lanes = root.findall(".//bpmn:lane", NS)
    assert lanes and {lane.get("name") for lane in lanes} <= set(ROLES)
    shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    for tag in FLOW_NODES:
        for node in root.iterfind(f".//bpmn:{tag}", NS):
            element = node.get("id")
            assert CJK.search(node.get("name") or ""), f"{element} needs a Chinese name"
            assert element in shapes, f"{element} is not drawn"
            if tag in TASKS:
                documentation = node.findtext("bpmn:documentation", default="", namespaces=NS)
                assert documentation.strip(), f"{element} needs documentation"
                if tag == "userTask":  # people's steps cite the policy item they carry out
                    assert CITATION.search(documentation), (
                        f"{element} needs documentation citing its source item (§N or 第N条)"
                    )
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        assert flow.get("id") in edges, f"{flow.get('id')} is not drawn"

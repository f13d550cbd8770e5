"""The audit page (审计日志) in either language: every detail key the product writes has a label,
coded values read by their labels, and data (ids, dates, numbers, hashes, free text) is marked
translate="no" — so the English page shows no Chinese outside data and the Chinese page no
raw key or code."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select

from server import create_app
from tests.support.world import load_demo
from tests.ui.conftest import submit_login
from workflows import audit_labels, demo
from workflows.engine.models import AuditEvent
from workflows.official.kinds import KINDS as DOCUMENT_KINDS
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
#: A raw code: a snake_case word, or a 64-hex hash shown whole.
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[0-9a-f]{64}\b")


@pytest.fixture
def demo_rt(rt: Runtime) -> Runtime:
    """The demo as `make run` loads it."""
    loaded = load_demo(rt)
    assert not loaded.skipped, loaded.skipped
    return rt


def _admin(rt: Runtime) -> FlaskClient:
    client = create_app(rt, TESTING=True).test_client()
    assert submit_login(client, "admin.ah", demo.PASSWORD).status_code == 303
    return client


def _keys(detail: Mapping[str, Any]) -> Iterator[str]:
    """A detail's keys, nested ones too (not a form's data: its fields are named by the form)."""
    for key, value in detail.items():
        yield key
        if isinstance(value, Mapping) and key != audit_labels.FORM_DATA:
            yield from _keys(value)


def _written_keys() -> set[str]:
    """The keys of every detail written as a literal in workflows/ and server/: `detail={…}`,
    dicts assigned to a name `detail`, and who acts (`audit.acting(role=…)`, the rows' `by`)."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("workflows").rglob("*.py"), *ROOT.joinpath("server").rglob("*.py")]:
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal: ast.expr | None = None
            if (
                isinstance(node, ast.keyword)
                and node.arg == "detail"
                or isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "detail" for t in node.targets)
            ):
                literal = node.value
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "acting":
                found.update(k.arg for k in node.keywords if k.arg is not None)
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript)
                and isinstance(t.value, ast.Name)
                and t.value.id in ("changes", "changed")
                and isinstance(t.slice, ast.Constant)
                for t in node.targets
            ):  # a user's or a setting's changes, key by key
                found.update(t.slice.value for t in node.targets if isinstance(t, ast.Subscript))
                literal = node.value
            if isinstance(literal, ast.Dict):
                found.update(_literal_keys(literal))
    return found


def _literal_keys(literal: ast.Dict) -> Iterator[str]:
    for key, value in zip(literal.keys, literal.values, strict=True):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield key.value
        if isinstance(value, ast.Dict):
            yield from _literal_keys(value)


def _demo_keys(rt: Runtime) -> set[str]:
    with rt.db.reading() as session:
        details = session.scalars(select(AuditEvent.detail)).all()
    return {key for text in details for key in _keys(json.loads(text or "{}"))}


def test_every_detail_key_the_product_writes_has_a_label(demo_rt: Runtime) -> None:
    written = _written_keys()
    assert {"case_number", "sha256", "manner", "served_on", "ip", "by", "result"} <= written
    shown = _demo_keys(demo_rt)
    assert {"seq", "document_id", "issue", "cadres"} <= shown
    assert (written | shown) - set(audit_labels.DETAIL_LABELS) == set()


def _spoken(cell: Any) -> str:
    """A cell's text without its data (what is inside translate="no")."""
    if cell.get("translate") == "no":
        return ""
    for marked in cell.xpath('.//*[@translate="no"]'):
        marked.drop_tree()
    return " ".join(cell.text_content().split())


def _audit_cells(client: FlaskClient, lang: str) -> list[Any]:
    """Every row's cells over all the audit pages, in `lang`."""
    cells: list[Any] = []
    page = 1
    while True:
        html = client.get(f"/admin/audit?lang={lang}&page={page}").get_data(as_text=True)
        rows = lxml_html.fromstring(html).xpath('//table[contains(@class, "audit")]/tbody/tr')
        cells += [cell for row in rows for cell in row.xpath("./td")]
        if f"page={page + 1}" not in html:
            return cells
        page += 1


def test_english_audit_page_shows_no_chinese_outside_data(demo_rt: Runtime) -> None:
    client = _admin(demo_rt)
    cells = _audit_cells(client, "en")
    details = [cell for cell in cells if "detail" in (cell.get("class") or "")]
    assert len(details) > 50
    texts = [_spoken(cell) for cell in cells]
    # The official documents' kind titles reach the catalog with the case pages' work on them
    # (workflows/official/kinds.py); until then they are the one Chinese label left.
    titles = re.compile("|".join(kind.title for kind in DOCUMENT_KINDS.values()))
    assert [text for text in texts if CJK.search(titles.sub("", text))] == []
    joined = "\n".join(texts)
    assert "Served on" in joined and "Served in person" in joined and "Template version" in joined


def test_chinese_audit_page_shows_no_raw_key_or_code(demo_rt: Runtime) -> None:
    client = _admin(demo_rt)
    cells = _audit_cells(client, "zh_CN")
    texts = [_spoken(cell) for cell in cells]
    assert [text for text in texts if CODE.search(text)] == []
    page = client.get("/admin/audit?action=official_document.generate").get_data(as_text=True)
    tree = lxml_html.fromstring(page)
    keys = {" ".join(dt.text_content().split()) for dt in tree.xpath("//dl[@class='pairs']//dt")}
    assert {"案件号", "编号", "期次", "模板版本", "材料编号", "文件哈希"} <= keys
    assert all(CJK.search(key) for key in keys)
    digest, *_ = tree.xpath("//dl[@class='pairs']//code[@class='hash']")
    assert digest.get("translate") == "no" and re.fullmatch(r"[0-9a-f]{64}", digest.get("title"))
    assert digest.text == digest.get("title")[:12] + "…"

"""Every role's main pages speak one language: on the demo data, each role's pages in English
show no Chinese and in Chinese no English words, apart from data — what a page marks
`translate="no"` (names, units, case numbers, titles, free text) — and a few product terms.
The detector is tested on its own first, so that the walk can fail."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from server import create_app
from tests.browser.conftest import serving, sign_in
from tests.support.world import demo_copy
from workflows import demo
from workflows.cases.models import CaseFile
from workflows.engine.models import HumanTask
from workflows.runtime import Runtime

#: The visible text of a page, one entry per text node, without what is data (inside
#: translate="no"), in another language than the page's (the language switch), hidden, or
#: not text (script, style). Closed <details> are opened first: their forms are interface too.
VISIBLE_TEXT = """() => {
  for (const details of document.querySelectorAll('details')) details.open = true;
  const pageLang = document.documentElement.lang;
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    const element = node.parentElement;
    if (!text || !element || element.closest('script, style, noscript, template')) continue;
    const marked = element.closest('[translate]');
    if (marked && marked.getAttribute('translate') === 'no') continue;
    const spoken = element.closest('[lang]');
    if (spoken && spoken.lang !== pageLang) continue;
    if (!element.checkVisibility({visibilityProperty: true})) continue;
    texts.push(text);
  }
  return texts;
}"""
#: Chinese characters and the CJK and full-width punctuation (（）：，、「」).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
WORD = re.compile(r"[A-Za-z]{3,}")
#: Words a Chinese page may show: product and file format names, keys, units, a library.
PRODUCT_TERMS = {
    "PDF", "CSV", "Excel", "API", "BPMN", "DMN", "XML", "JSON", "DOCX", "XLSX", "OFD", "JPEG",
    "PNG", "Word", "WPS", "txt", "English", "cadreflow", "ID", "Ctrl", "chinesecalendar",
}  # fmt: skip


def foreign(texts: list[str], locale: str) -> list[str]:
    """The texts not in the page's language: any Chinese on an English page; on a Chinese page
    any word of three Latin letters or more that is not a product term."""
    if locale == "en":
        return [text for text in texts if CJK.search(text)]
    return [text for text in texts if any(w not in PRODUCT_TERMS for w in WORD.findall(text))]


def found_on(page: Any, locale: str) -> list[str]:
    """The texts of the page shown that are not in its language, each once, in page order."""
    return list(dict.fromkeys(foreign(page.evaluate(VISIBLE_TEXT), locale)))


# -- the detector -------------------------------------------------------------------------
FRAGMENT = """<html lang="{lang}"><body><main>
  <h1>{title}</h1>
  <p>{label} <span translate="no">张三 · 合肥市 · AH-2026-0001 cadre.zhang</span></p>
  <p hidden>{hidden}</p><div style="display:none">{hidden}</div>
  <script>var x = "中文 words";</script>
  <a lang="{other}">{switch}</a>
  <details><summary>{label}</summary><p>{inside}</p></details>
</main></body></html>"""


def _fragment(page: Any, **texts: str) -> list[str]:
    page.set_content(FRAGMENT.format(**texts))
    return found_on(page, "en" if texts["lang"] == "en" else "zh_CN")


def test_the_detector_finds_foreign_text_outside_data_only(browser: Any) -> None:
    page = browser.new_page()
    try:
        english = {"lang": "en", "other": "zh-CN", "switch": "中文", "hidden": "隐藏"}
        clean = _fragment(page, **english, title="Inbox", label="Subject", inside="Claim")
        assert clean == []
        assert _fragment(page, **english, title="待办", label="Subject", inside="Claim") == ["待办"]
        assert _fragment(page, **english, title="Inbox", label="对象：", inside="认领") == [
            "对象：",
            "认领",
        ]
        chinese = {"lang": "zh-CN", "other": "en", "switch": "English", "hidden": "Hidden"}
        assert _fragment(page, **chinese, title="待办", label="导出 CSV", inside="认领") == []
        assert _fragment(page, **chinese, title="Inbox", label="对象", inside="Claim it") == [
            "Inbox",
            "Claim it",
        ]
    finally:
        page.close()


# -- the walk -----------------------------------------------------------------------------
@pytest.fixture
def demo_live(rt: Runtime) -> Iterator[str]:
    """The demo as `make run` loads it (loaded once per backend, copied after), served; the
    base URL."""
    loaded = demo_copy(rt)
    assert not loaded.skipped, loaded.skipped
    with serving(create_app(rt)) as url:
        yield url


def _working_pages(rt: Runtime, role: str) -> tuple[str, list[str]]:
    """A user of `role` with a case step open in their unit, and their pages: the inbox, that
    step, its case and the case list."""
    with rt.db.reading() as session:
        task, case_id = session.execute(
            select(HumanTask, CaseFile.id)
            .join(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
            .where(HumanTask.role == role, HumanTask.state == "open")
            .order_by(HumanTask.id)
        ).first() or (None, None)
    if task is None:
        return f"{role}.ah-hf", ["/tasks", "/cases"]
    return f"{role}.{task.org_unit}", [
        "/tasks",
        f"/tasks/{task.id}",
        f"/cases/{case_id}",
        "/cases",
    ]


def _served_cadre(rt: Runtime) -> tuple[str, list[str]]:
    """The cadre of the demo's served decision: their cases and that case."""
    with rt.db.reading() as session:
        served = session.scalars(
            select(CaseFile.id).where(CaseFile.subject_name == "王建国").order_by(CaseFile.id)
        ).first()
    return "wangjianguo", ["/mine", f"/cases/{served}"]


#: Every role's walk: role → (user, the paths they visit), on the demo's data. One test per
#: role, so that the workers share the walk.
WALKS: dict[str, Callable[[Runtime], tuple[str, list[str]]]] = {
    "discipline": lambda rt: _working_pages(rt, "discipline"),
    "organization": lambda rt: _working_pages(rt, "organization"),
    "committee": lambda rt: _working_pages(rt, "committee"),
    "unit": lambda rt: _working_pages(rt, "unit"),
    "cadre": _served_cadre,
    "supervisor": lambda _rt: (
        "supervisor.ah-hf",
        ["/supervision", "/supervision/overdue", "/tasks", "/cases"],
    ),
    "admin": lambda _rt: ("admin.ah", ["/admin/users", "/admin/calendar", "/admin/audit"]),
    "designer": lambda _rt: ("designer.ah", ["/processes"]),
}


@pytest.mark.parametrize("role", list(WALKS))
def test_every_role_sees_its_pages_in_one_language(
    browser: Any, rt: Runtime, demo_live: str, role: str
) -> None:
    """The role's pages in English, then in Chinese, in one session. A page is read once it
    has loaded: what its scripts fetch later is the case diagram, data (translate="no")."""
    username, paths = WALKS[role](rt)
    problems: dict[str, list[str]] = {}
    context = browser.new_context(base_url=demo_live, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, username, demo.PASSWORD)
        for locale in ("en", "zh_CN"):
            for path in paths:
                joiner = "&" if "?" in path else "?"
                response = page.goto(f"{path}{joiner}lang={locale}")
                assert response is not None and response.ok, (username, path, locale)
                new = found_on(page, locale)
                if new:
                    problems[f"{username} {path} ({locale})"] = new
    finally:
        context.close()
    assert not problems, "\n".join(
        f"{where}: {' | '.join(texts)}" for where, texts in problems.items()
    )

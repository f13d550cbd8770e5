"""Every text of the pages, the API's own messages and the names in the process definitions
has its English translation (`make messages` refreshes the catalog)."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server.ui.i18n import TRANSLATIONS
from tests.support.world import ROOT

METHODS = [
    ("server/ui/**.py", "python"),
    ("server/ui/templates/**.html", "jinja2"),
    ("server/errors.py", "python"),
    ("bpmn/*.bpmn", "server.ui.content_messages.extract_bpmn"),
    ("bpmn/decisions/*.dmn", "server.ui.content_messages.extract_bpmn"),
]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def test_every_page_text_has_an_english_translation() -> None:
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, METHODS, keywords=KEYWORDS
        )
    }
    assert {"待办", "登录", "不能为空", "责任调查", "容错免责", "容错建议（六个要件）"} <= found
    with (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    missing = sorted(
        m
        for m in found
        if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy)
    )
    assert not missing, f"untranslated (run make messages, then translate): {missing}"

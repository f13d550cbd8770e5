"""Every text of the pages, the API's own messages, the names in the process definitions and
the labels of workflows' coded values has its English translation (`make messages` refreshes
the catalog)."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from server.ui.i18n import TRANSLATIONS
from tests.support.world import ROOT

with (ROOT / "server" / "ui" / "babel.cfg").open() as cfg:
    METHODS, _OPTIONS = parse_mapping_cfg(cfg)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def test_every_page_text_has_an_english_translation() -> None:
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, METHODS, keywords=KEYWORDS
        )
    }
    assert {"待办", "登录", "不能为空", "责任调查", "容错免责"} <= found
    # Labels of coded values (a status, an audit action, an outcome, a six-element pole);
    # the demo's people are data, not labels.
    assert {"已送达决定", "退出登录", "不予问责", "出以公心", "待回复"} <= found
    assert "周立新" not in found
    with (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    missing = sorted(
        m
        for m in found
        if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy)
    )
    assert not missing, f"untranslated (run make messages, then translate): {missing}"

"""Every text of the pages, the API's own messages, the names in the process definitions, the
texts of the forms (and the wordings of their rules), workflows' t() messages and the labels of
its coded values has its English translation (`make messages` refreshes the catalog)."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from server.ui.i18n import TRANSLATIONS
from tests.support.world import ROOT

with (ROOT / "server" / "ui" / "babel.cfg").open() as cfg:
    METHODS, OPTIONS = parse_mapping_cfg(cfg)
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
    "pgettext": ((1, "c"), 2),
}


def test_every_page_text_has_an_english_translation() -> None:
    extracted = {
        (message, context)
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT, METHODS, options_map=OPTIONS, keywords=KEYWORDS
        )
    }
    found = {message for message, _context in extracted}
    assert {"待办", "登录", "不能为空", "责任调查", "容错免责", "免责", "应大于 %(limit)s"} <= found
    assert "容错建议（六个要件）" in found
    # Labels of coded values (a status, an audit action, an outcome, a six-element pole);
    # the demo's people are data, not labels.
    assert {"已送达决定", "退出登录", "不予问责", "出以公心", "待回复"} <= found
    assert "周立新" not in found
    with (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    missing = sorted(
        m
        for m, context in extracted
        if not ((entry := catalog.get(m, context=context)) and entry.string and not entry.fuzzy)
    )
    assert not missing, f"untranslated (run make messages, then translate): {missing}"

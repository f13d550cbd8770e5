"""The pages' translations compiled as `make setup` does, for a run of pytest alone."""

from __future__ import annotations

import os

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.ui.i18n import TRANSLATIONS


def ensure_compiled() -> None:
    """Writes each catalog's .mo where it is missing or older than its .po; whole or not at
    all, since the workers of `pytest -n` may read one while another writes it."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            written = mo.with_name(f"{mo.name}.{os.getpid()}")
            with written.open("wb") as target:
                write_mo(target, catalog)
            os.replace(written, mo)

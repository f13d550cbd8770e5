"""公文 in a real browser: the 送达 step shows the 问责决定书 to serve with its 文号, the preview
answers the PDF the browser shows (its first page, rendered, is the README's picture of the
document), and once served the cadre finds it on their home page."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, screenshot, sign_in
from tests.support.world import World


def test_the_serving_step_shows_the_decision_and_the_cadre_finds_it_served(
    open_page: Any, world: World, tmp_path: Path
) -> None:
    case = world.undelivered_accountability()
    notify = world.task(case, "notify").id
    page = open_page()
    sign_in(page, "organization.hf")
    page.goto(f"/tasks/{notify}")
    card = page.locator("#official")
    expect(card.locator("h2")).to_have_text("待送达的文书")
    expect(card).to_contain_text("问责决定书")
    expect(card).to_contain_text("合肥市纪问〔2026〕1号")
    expect(card).to_contain_text("送达回证")
    preview = card.locator("li", has_text="问责决定书").get_by_role("link", name="预览")
    shown = page.request.get(preview.get_attribute("href"), timeout=90_000)  # converts now
    assert shown.status == 200 and shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline")
    document = tmp_path / "decision.pdf"
    document.write_bytes(shown.body())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(document),
         str(SCREENSHOTS / "official-decision")],
        check=True,
        timeout=60,
    )  # fmt: skip
    page.reload()
    expect(card).to_contain_text("下载 PDF")
    screenshot(page, "official-documents.png")

    world.complete(
        case,
        "notify",
        {"received_on": world.today().isoformat(), "delivery": "in_person"},
        "organization.hf",
    )
    cadre = open_page()
    sign_in(cadre, "zhang")
    cadre.goto("/mine")
    served = cadre.locator("#served-documents")
    expect(served).to_contain_text("合肥市纪问〔2026〕1号")
    expect(served).to_contain_text("直接送达")
    expect(served).not_to_contain_text("送达回证")

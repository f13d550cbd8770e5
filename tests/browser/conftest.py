"""Browser tests: Debian's chromium driven by Playwright against the real app, served by
werkzeug on a free port in a thread, on the `rt` fixture's database (both backends)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from server import create_app
from server.auth import CSRF_FIELD
from server.ui.sign_in import LOGIN_CSRF_COOKIE
from tests.conftest import IN_CI
from tests.support.world import ROOT, World, make_world
from tests.ui import catalogs
from workflows.runtime import Runtime

#: Debian's chromium in its headless-shell form (package chromium-headless-shell, what
#: Playwright itself runs for headless tests): the same engine without the full browser around
#: it, 40 % less time for the browser tests than `chromium --headless`; the full browser where
#: the shell is not installed.
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")
CHROMIUM = os.environ.get("CADREFLOW_CHROMIUM") or (
    str(HEADLESS_SHELL) if HEADLESS_SHELL.exists() else "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 740}
PASSWORD = "demo-pass-1"


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    catalogs.ensure_compiled()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (make test installs it)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` served in a thread while the block runs; yields its base URL. The server looks
    for its stop request every 50 ms (werkzeug's default, 0.5 s, is paid at every test's end)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def live(rt: Runtime, world: World) -> Iterator[str]:
    """The base URL of the app served in a thread."""
    with serving(create_app(rt)) as url:
        yield url


@pytest.fixture
def open_page(browser: Any, live: str) -> Iterator[Any]:
    """open_page(viewport=LAPTOP) → a fresh page (own cookies) whose goto takes paths."""
    contexts: list[Any] = []

    def _open(viewport: dict[str, int] = LAPTOP) -> Any:
        context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def log_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Logs in through the form and waits for the page after it."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Logs in by posting the login form from the page's context: the same endpoint, token
    and checks as `log_in`, and the page's cookies get the session, without rendering the
    form and the home page after it (a second per test). For tests about what comes after;
    the page stays where it was, so the next step is a goto."""
    form = page.context.request.get("/login")
    assert form.ok, (username, form.status)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == LOGIN_CSRF_COOKIE)
    response = page.context.request.post(
        "/login",
        form={CSRF_FIELD: token, "username": username, "password": password},
        max_redirects=0,
    )
    assert response.status in {302, 303}, (username, response.status, response.text()[:500])


#: Whether the running test takes its screenshots: see _screenshots_on_one_backend.
_shooting = {"on": True}


@pytest.fixture(autouse=True)
def _screenshots_on_one_backend(request: pytest.FixtureRequest) -> None:
    """Screenshots (docs/screenshots, shown by the README) are taken by a test's SQLite run
    only: its PostgreSQL run shows the same pages, and a full-page screenshot costs a third
    of a second."""
    callspec = getattr(request.node, "callspec", None)
    _shooting["on"] = callspec is None or callspec.params.get("database") != "postgresql"


def screenshot(page: Any, name: str) -> None:
    """`page` whole, as docs/screenshots/`name` (on one backend: see above)."""
    if not _shooting["on"]:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

"""Page tests over Flask's test client (the browser tests are in tests/browser/)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.apps import app_for
from tests.support.world import World, make_world
from tests.ui import catalogs
from workflows.runtime import Runtime

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    catalogs.ensure_compiled()


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def app(rt: Runtime, world: World) -> Flask:
    return app_for(rt)


def submit_login(
    client: FlaskClient, username: str, password: str = "demo-pass-1", **extra: str
) -> Any:
    """Posts the login form as a browser would (the form's token from its page)."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, **extra}
    )


@pytest.fixture
def logged_in(app: Flask) -> Any:
    """logged_in('discipline.hf') → (client, the session's CSRF token)."""

    def _login(username: str) -> tuple[FlaskClient, str]:
        client = app.test_client()
        assert submit_login(client, username).status_code == 303
        landing = client.get("/", follow_redirects=True)  # each role's home has the logout form
        return client, csrf_of(landing.get_data(as_text=True))

    return _login

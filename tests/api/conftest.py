"""API tests: the real app over Flask's test client, on the domain test world."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.apps import app_for
from tests.support.world import World, make_world
from workflows.runtime import Runtime


class Api:
    """A logged-in client that sends the CSRF header on writes and returns parsed JSON."""

    def __init__(self, client: FlaskClient, csrf: str | None) -> None:
        self.client, self.csrf = client, csrf

    def _headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf} if self.csrf else {}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self._headers(), **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=json, headers=self._headers(), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._headers(), **kw)


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def app(rt: Runtime, world: World) -> Flask:
    return app_for(rt)


@pytest.fixture
def login(app: Flask) -> Any:
    """login('discipline.hf') → an Api client with that user's session."""

    def _login(username: str, password: str = "demo-pass-1") -> Api:
        client = app.test_client()
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return Api(client, response.get_json()["csrf_token"])

    return _login

"""Flask app factory: the REST API under /api/v1, the pages (server/ui), browser libraries, health."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify
from sqlalchemy import select

from server import api, assets, auth, errors, ui

if TYPE_CHECKING:
    from server.cli import Runtime


def create_app(runtime: Runtime | None = None, **config: Any) -> Flask:
    from server.cli import Runtime

    rt = runtime or Runtime()
    app = Flask(__name__)
    app.config.update(config)
    app.extensions["cadreflow"] = rt
    app.config.setdefault("SESSION_COOKIE_SECURE", rt.settings.secure_cookies)
    assets.init_app(app)
    api.init_app(app)
    errors.register(app)  # after the API: its handlers replace flask-smorest's
    auth.init_app(app)
    ui.init_app(app)

    @app.get("/healthz")
    def healthz() -> Any:
        with rt.db.reading() as session:
            session.execute(select(1))
        return jsonify(status="ok")

    return app

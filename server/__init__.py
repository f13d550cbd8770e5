"""Flask app factory: the REST API under /api/v1, the pages (server/ui), browser libraries, health."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from workflows.runtime import Runtime


def create_app(
    runtime: Runtime | None = None, *, serving: bool | None = None, **config: Any
) -> Flask:
    """The app. `serving` (default: when no runtime is given, as gunicorn's
    `server:create_app()` calls it) marks a long-lived server process: see `settle_heap`.

    Requests find the runtime in `app.extensions["cadreflow"]` (never a closure over `rt`):
    the settings read here (cookies, request size, time zone) are the only ones fixed at
    build time.

    Flask, the API and the pages are imported here, not at the top: every `cadreflow` command
    imports this package (server/cli.py lives in it) and only `serve` needs the web app."""
    from flask import Flask, jsonify
    from sqlalchemy import select

    from server import api, assets, auth, errors, inputs, ui
    from workflows.runtime import Runtime

    rt = runtime or Runtime.from_env()
    app = Flask(__name__)
    app.config.update(config)
    app.extensions["cadreflow"] = rt
    app.config.setdefault("SESSION_COOKIE_SECURE", rt.settings.secure_cookies)
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = rt.settings.max_request_bytes
    inputs.init_app(app)
    assets.init_app(app)
    api.init_app(app)
    errors.register(app)  # after the API: its handlers replace flask-smorest's
    auth.init_app(app)
    ui.init_app(app)

    @app.get("/healthz")
    def healthz() -> Any:
        with auth.runtime().db.reading() as session:
            session.execute(select(1))
        return jsonify(status="ok")

    if serving is None:
        serving = runtime is None
    if serving:
        settle_heap()
    return app


def settle_heap() -> None:
    """Leaves everything loaded so far (modules, the app, schemas, metadata) out of the cyclic
    collector's full passes for the life of the process. Each request leaves some cyclic
    garbage (restored workflows), so full passes keep coming; without this each walks the
    whole heap (~100 ms here), a pause every request queued behind it pays; with it, a few ms.
    The runtime has registered the domain's actions by then."""
    gc.collect()
    gc.freeze()

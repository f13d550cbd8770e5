"""One Flask app per process and configuration, pointed at each test's runtime.

Building the app compiles some two hundred URL rules (werkzeug turns each into Python code)
and registers every blueprint: 60–90 ms, which about 1,400 tests paid. The app keeps no
state of its own between requests: requests read the runtime from
`app.extensions["cadreflow"]` (server.create_app says which settings are fixed when it is
built, and they are part of the key here). A test that changes the app itself (adds a route,
edits its config) builds its own with `create_app`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from server import create_app
from workflows.runtime import Runtime

_BUILT: dict[tuple[Any, ...], Flask] = {}


def app_for(rt: Runtime, **config: Any) -> Flask:
    """`create_app(rt, TESTING=True, **config)`, reusing an app built for the same
    configuration in this process."""
    config = {"TESTING": True, **config}
    settings = rt.settings
    key = (
        tuple(sorted(config.items())),
        settings.secure_cookies,
        settings.max_request_bytes,
        settings.timezone,
    )
    app = _BUILT.get(key)
    if app is None:
        app = _BUILT[key] = create_app(rt, **config)
    app.extensions["cadreflow"] = rt
    return app

"""Browser libraries from the npm registry (bpmn-js, dmn-js, htmx, Chart.js, Swagger UI),
served from node_modules/ as their prebuilt files: no build step, no CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, send_from_directory

ROOT = Path(__file__).resolve().parent.parent
#: package → the folder of its prebuilt files; nothing else under node_modules is served.
PACKAGES = {
    "bpmn-js": "dist",
    "dmn-js": "dist",
    "htmx.org": "dist",
    "chart.js": "dist",
    "swagger-ui-dist": "",
}


def init_app(app: Flask) -> None:
    modules = Path(app.config.get("CADREFLOW_ASSETS_DIR") or ROOT / "node_modules")

    @app.get("/vendor/<package>/<path:filename>")
    def vendor(package: str, filename: str) -> Any:
        if package not in PACKAGES:
            abort(404)
        response = send_from_directory(
            modules / package / PACKAGES[package], filename, max_age=86400
        )
        return response

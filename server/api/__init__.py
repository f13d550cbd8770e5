"""The REST API, /api/v1: flask-smorest blueprints with marshmallow schemas, and the
OpenAPI document generated from them (/api/v1/openapi.json, browsable at /api/docs)."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from flask import Flask, render_template_string, url_for
from flask_smorest import Api

from server.errors import PROBLEM_JSON

from . import (
    admin,
    admin_mail,  # noqa: F401  (adds its routes to the admin blueprint)
    auth,
    blacklist,  # noqa: F401  (adds its routes to the cadres blueprint)
    cadres,
    cases,
    consultations,
    documents,
    forms,
    incidents,
    my_cases,
    notifications,
    official_documents,
    process_migrations,  # noqa: F401  (adds its routes to the processes blueprint)
    processes,
    supervision,
    tasks,
    tasks_actions,  # noqa: F401  (adds its routes to the tasks blueprint)
    tasks_going_back,  # noqa: F401  (adds its routes to the tasks blueprint)
)
from .common import ProblemSchema

PREFIX = "/api/v1"
BLUEPRINTS = [
    auth.blp,
    tasks.blp,
    consultations.blp,
    cases.blp,
    documents.blp,
    official_documents.blp,
    cadres.blp,
    processes.blp,
    forms.blp,
    supervision.blp,
    notifications.blp,
    admin.blp,
    incidents.blp,
    my_cases.blp,
]

_DOCS = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>cadreflow API</title><link rel="stylesheet" href="{{ css }}"></head>
<body><div id="api"></div><script src="{{ js }}"></script><script>
SwaggerUIBundle({url: "{{ spec }}", dom_id: "#api", deepLinking: true,
  requestInterceptor: (r) => { const m = document.cookie.match(/cadreflow_csrf=([^;]+)/);
    if (m) r.headers["X-CSRF-Token"] = decodeURIComponent(m[1]); return r; }});
</script></body></html>"""


class CadreflowApi(Api):
    """Error responses are documented as what they are: problem+json bodies.

    The routes are registered at once; their OpenAPI document is written the first time the
    spec is read (serving /api/v1/openapi.json). Documenting every view converts every
    marshmallow schema: it was half of building an app (about 45 ms), paid by every worker
    at start and by every test that builds one, and read by few of them."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Flask) -> None:
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._spec: APISpec | None = None
        super().__init__(app)

    @property  # type: ignore[override]
    def spec(self) -> APISpec | None:
        """The document, with every blueprint registered so far in it (in their order)."""
        pending, self._undocumented = self._undocumented, []
        for blueprint, name, parameters in pending:
            blueprint.register_views_in_doc(
                self, self._app, self._spec, name=name, parameters=parameters
            )
            assert self._spec is not None
            self._spec.tag({"name": name, "description": blueprint.description})
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """As flask-smorest's, with the blueprint's views documented when the spec is read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _register_responses(self) -> None:
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_JSON
        try:
            super()._register_responses()  # type: ignore[no-untyped-call]
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE="cadreflow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "干部问责与容错纠错流程系统的接口。浏览器用会话 Cookie（写操作带 "
                "X-CSRF-Token），对接系统用 Bearer 令牌。错误为 application/problem+json。"
            },
            "components": {
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "cadreflow_session"},
                    "bearer": {"type": "http", "scheme": "bearer"},
                }
            },
            "security": [{"session": []}, {"bearer": []}],
        },
    )
    api = CadreflowApi(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=PREFIX)

    @app.get("/api/docs")
    def api_docs() -> Any:
        return render_template_string(
            _DOCS,
            spec=f"{PREFIX}/openapi.json",
            css=url_for("vendor", package="swagger-ui-dist", filename="swagger-ui.css"),
            js=url_for("vendor", package="swagger-ui-dist", filename="swagger-ui-bundle.js"),
        )

    return api

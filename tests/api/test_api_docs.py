"""The OpenAPI document and its browsable page, with Swagger UI served locally."""

from __future__ import annotations

from server import create_app
from workflows.runtime import Runtime


def test_openapi_document_lists_the_resources(rt: Runtime) -> None:
    client = create_app(rt).test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/complete",
    ):
        assert path in spec["paths"], path
    error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(error) == ["application/problem+json"]


def test_docs_page_loads_swagger_ui_from_this_server(rt: Runtime) -> None:
    client = create_app(rt).test_client()
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in page and "https://" not in page
    asset = client.get("/vendor/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000


def test_only_listed_packages_are_served(rt: Runtime) -> None:
    client = create_app(rt).test_client()
    assert client.get("/vendor/.bin/anything").status_code == 404
    assert client.get("/vendor/bpmn-js/../package.json").status_code == 404

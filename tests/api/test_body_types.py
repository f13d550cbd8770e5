"""The class of `"process": {}` (an object or a list where the OpenAPI document declares
text, a number or a yes/no) over every JSON request body of the API, nested fields too:
a 422 naming the field, never a 5xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask

from tests.support.world import World

SCALARS = {"string", "integer", "number", "boolean"}
#: Who sends each operation's bodies: someone the operation is meant for.
SENDER = {"/admin/": "admin.hf", "/processes": "designer.hf"}
#: Bodies a view reads itself, with what picks the variant (the rest is checked per variant).
BASE = {("POST", "/api/v1/cases"): {"process": "accountability"}}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _scalar_fields(
    spec: dict[str, Any], schema: dict[str, Any], prefix: str = ""
) -> Iterator[list[str]]:
    """The path of every property declared as a scalar (in each variant of a oneOf)."""
    schema = _resolve(spec, schema)
    for variant in schema.get("oneOf", []):
        yield from _scalar_fields(spec, variant, prefix)
    for name, inner in schema.get("properties", {}).items():
        inner = _resolve(spec, inner)
        if inner.get("readOnly"):
            continue
        path = [*prefix.split("."), name] if prefix else [name]
        if inner.get("type") in SCALARS:
            yield path
        elif inner.get("type") == "object" or "properties" in inner:
            yield from _scalar_fields(spec, inner, ".".join(path))


def _body(base: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    body = dict(base)
    inner = body
    for key in path[:-1]:
        inner[key] = {}
        inner = inner[key]
    inner[path[-1]] = value
    return body


def test_no_object_or_list_in_place_of_a_scalar_gets_a_server_error(
    app: Flask, world: World, login: Any
) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    clients: dict[str, Any] = {}
    sent = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in {"post", "put", "patch"}:
                continue
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            who = next((user for part, user in SENDER.items() if part in path), "discipline.hf")
            api = clients.get(who) or clients.setdefault(who, login(who))
            url = re.sub(r"\{[^}]+\}", "1", path)
            fields = {
                tuple(f): f for f in _scalar_fields(spec, content["application/json"]["schema"])
            }
            for field in fields.values():
                for wrong in ({}, [], [{}]):
                    body = _body(BASE.get((method.upper(), path), {}), field, wrong)
                    response = api.client.open(
                        url, method=method.upper(), json=body, headers=api._headers()
                    )
                    sent += 1
                    named = ".".join(field)
                    assert response.status_code < 500, (method, path, body)
                    if response.status_code == 422:
                        errors = response.get_json()["errors"]
                        assert any(
                            key == named or key.startswith(f"{named}.") for key in errors
                        ) or (named.startswith("data.") and "data" in errors), (
                            method,
                            path,
                            body,
                            errors,
                        )
    assert sent > 100

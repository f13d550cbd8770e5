"""Domain errors become HTTP in one place: problem+json for the API, a page for people."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel

from server import errors
from workflows.errors import (
    Conflict,
    DefinitionError,
    Forbidden,
    NotFound,
    Problem,
    TaskAlreadyCompleted,
    ValidationFailed,
)


def _app(raised: Exception) -> Flask:
    app = Flask(__name__)
    Babel(app)  # the messages are the catalog's, as in the application
    errors.register(app)

    def fail() -> None:
        raise raised

    app.add_url_rule("/api/v1/boom", "api_boom", fail)
    app.add_url_rule("/boom", "page_boom", fail)
    return app


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (NotFound("case 7 not found"), 404, "not_found"),
        (Forbidden("回避：不得复核本人办理的案件"), 403, "forbidden"),
        (TaskAlreadyCompleted("task 3 is already completed"), 409, "task_already_completed"),
        (Conflict("instance 2 was changed"), 409, "conflict"),
    ],
)
def test_domain_errors_map_to_status_and_problem_json(
    raised: Exception, status: int, code: str
) -> None:
    response = _app(raised).test_client().get("/api/v1/boom")
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["code"], body["detail"]) == (status, code, str(raised))


def test_validation_error_carries_a_field_map() -> None:
    raised = ValidationFailed(
        "the form has errors",
        [
            {"field": "reason", "message": "§6 问责决定须说明理由"},
            {"field": "decided_on", "message": "expected a date"},
            {"field": "reason", "message": "too short"},
        ],
    )
    body = _app(raised).test_client().get("/api/v1/boom").get_json()
    assert body["status"] == 422
    assert body["errors"] == {
        "reason": ["§6 问责决定须说明理由", "too short"],
        "decided_on": ["expected a date"],
    }


def test_definition_error_lists_file_element_and_reason() -> None:
    raised = DefinitionError("1 problem(s) found", [Problem("a.bpmn", "f7", "attribute access")])
    body = _app(raised).test_client().get("/api/v1/boom").get_json()
    assert body["problems"] == [
        {
            "file": "a.bpmn",
            "element": "f7",
            "name": None,
            "severity": "error",
            "reason": "attribute access",
        }
    ]


def test_pages_show_the_message_in_chinese_with_each_field() -> None:
    raised = ValidationFailed("the form has errors", [{"field": "reason", "message": "须说明理由"}])
    response = _app(raised).test_client().get("/boom")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "输入有误" in text and "须说明理由" in text and "reason" in text


def test_unknown_api_path_is_a_problem_too() -> None:
    response = _app(NotFound("x")).test_client().get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_every_problem_type_is_the_projects_uri_for_its_code() -> None:
    """HTTP errors (404, 405) and domain errors name their kind the same way."""
    client = _app(NotFound("case 7 not found")).test_client()
    answers = [
        client.get("/api/v1/boom"),  # a domain error
        client.get("/api/v1/nowhere"),  # 404 from routing
        client.post("/api/v1/boom"),  # 405
    ]
    codes = []
    for response in answers:
        body = response.get_json()
        assert body["type"] == f"https://cadreflow.local/problems/{body['code']}", body
        codes.append(body["code"])
    assert codes == ["not_found", "not_found", "method_not_allowed"]

"""The generated OpenAPI document and the docs page."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import auth_headers, make_unit, make_user


def test_the_openapi_document_lists_the_resources(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    for path in (
        "/api/v1/auth/token",
        "/api/v1/checklists",
        "/api/v1/enterprises",
        "/api/v1/checklists/{code}/versions/{version}/evaluate",
        "/api/v1/readyz",
    ):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/enterprises"]["get"]["security"] == [{"bearerAuth": []}]
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {
        "code",
        "status",
        "message",
        "errors",
    }


def test_the_docs_page_loads_its_assets_from_this_server(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"/api/docs/static/swagger-ui-bundle.js" in page.data
    with client.get("/api/docs/static/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert len(asset.data) > 100_000


def test_chinese_text_is_sent_as_utf8(client: FlaskClient) -> None:
    reply = client.get("/api/openapi.json")
    assert "安检".encode() in reply.data


def _operations(spec: dict) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    methods = {"get", "post", "put", "patch", "delete"}
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in methods
    ]


def test_no_operation_hides_its_errors_behind_default(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)


def test_a_made_up_cursor_is_a_documented_400(client: FlaskClient, session: Session) -> None:
    spec = client.get("/api/openapi.json").json
    listing = [
        (path, operation)
        for path, method, operation in _operations(spec)
        if "cursor" in {p["name"] for p in operation.get("parameters", [])}
    ]
    assert len(listing) >= 5
    for _path, operation in listing:
        assert "400" in operation["responses"]
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get("/api/v1/enterprises?cursor=made-up", headers=headers)
    assert reply.status_code == 400
    assert reply.json["code"] == "pagination.invalid_cursor"

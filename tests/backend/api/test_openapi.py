"""The generated OpenAPI document and the docs page."""

from __future__ import annotations

from flask.testing import FlaskClient


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

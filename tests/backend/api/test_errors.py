"""Every failure has the one error shape, 404 and 405 included."""

from __future__ import annotations

import base64
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sync import text
from tests.factories import auth_headers, make_unit, make_user

SHAPE = {"code", "status", "message", "errors"}


def test_an_unknown_path_is_404_in_the_error_shape(client: FlaskClient) -> None:
    reply = client.get("/api/v1/nothing-here")
    assert reply.status_code == 404
    assert set(reply.json) == SHAPE
    assert reply.json["code"] == "http.not_found"


def test_a_wrong_method_is_405_in_the_error_shape(client: FlaskClient) -> None:
    reply = client.delete("/api/v1/auth/token")
    assert reply.status_code == 405
    assert reply.json["code"] == "http.method_not_allowed"
    assert "POST" in reply.headers["Allow"]


def test_a_body_over_the_limit_is_413(app: Flask, client: FlaskClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    reply = client.post(
        "/api/v1/auth/token", data=b"x" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 413
    assert reply.json["code"] == "request.too_large"


def test_an_unexpected_error_is_500_in_the_error_shape(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.api import health

    def boom() -> dict[str, object]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(health, "healthz", boom)
    app.view_functions["healthz"] = boom
    reply = client.get("/healthz")
    assert reply.status_code == 500
    assert reply.json["code"] == "server.error"
    assert "disk on fire" not in reply.json["message"]


def test_a_validation_error_writes_nothing(client: FlaskClient, session: Session) -> None:
    from sqlalchemy import func, select

    from backend.models import AuditEntry

    headers = auth_headers(client, make_user(session, make_unit(session)))
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    client.post(
        "/api/v1/enterprises",
        headers=headers,
        json={"name": "x", "sector": "gas", "credit_code": "123"},
    )
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [b"[" * 2000, b'[["a"],["b"]]', b'{"a": 1}', b"\xff\xfe"],
    ids=["deeply-nested", "nested-lists", "object", "not-utf8"],
)
def test_a_forged_cursor_is_400_not_500(client: FlaskClient, session: Session, raw: bytes) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get(
        "/api/v1/enterprises", query_string={"cursor": cursor_of(raw)}, headers=headers
    )
    assert reply.status_code == 400
    assert reply.json["code"] == "pagination.invalid_cursor"


def test_an_overlong_cursor_is_refused_unread(client: FlaskClient, session: Session) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get("/api/v1/units", query_string={"cursor": "W" * 5000}, headers=headers)
    assert reply.status_code == 422
    assert "cursor" in reply.json["errors"]["query"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/checklists/gas%00",
        "/api/v1/checklists/gas%00/versions",
        "/api/v1/checklists/gas/versions/v%001",
        "/api/v1/enterprises/%00",
    ],
)
def test_a_nul_in_a_path_is_404(client: FlaskClient, session: Session, path: str) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get(path, headers=headers)
    assert reply.status_code == 404, reply.json
    assert reply.json["code"] == "http.not_found"


def test_a_nul_in_an_evaluated_answer_is_422(client: FlaskClient, session: Session) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.post(
        "/api/v1/checklists/x/versions/y/evaluate",
        json={"answers": [{"item": "a\u0000", "answer": "yes"}]},
        headers=headers,
    )
    assert reply.status_code == 422
    assert reply.json["errors"]["json"]["answers"]["0"] == {"item": [text.MESSAGE]}


def test_every_error_code_is_stable_dotted_text_with_one_status(app: Flask) -> None:
    # The codes live on the exception classes; the API renders them as they are.
    from backend.api.errors import FOREIGN, codes, domain_errors

    statuses: dict[str, set[int]] = {}
    for cls in domain_errors():
        statuses.setdefault(cls.code, set()).add(cls.status)
    for _cls, status, code in FOREIGN:
        statuses.setdefault(code, set()).add(status)
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}
    assert all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", code) for code in codes())
    assert codes()["sync.seq_reused"] == 409
    assert codes()["hazard.state_closed"] == 409

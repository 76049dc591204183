"""Liveness and readiness, each dependency named."""

from __future__ import annotations

import socket

from flask.testing import FlaskClient

from tests.conftest import AppFactory


def test_healthz_answers_at_the_root_and_under_the_api(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/api/v1/healthz").json == {"status": "ok"}


def test_readyz_names_each_check(client: FlaskClient) -> None:
    reply = client.get("/readyz")
    assert reply.status_code == 200
    checks = reply.json["checks"]
    assert set(checks) == {"database", "redis", "object_store"}
    assert checks["database"]["ok"] is True
    assert "skipped" in checks["redis"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readyz_is_503_when_redis_is_unreachable(make_app: AppFactory) -> None:
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}")
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    assert reply.json["checks"]["redis"]["ok"] is False
    assert reply.json["checks"]["database"]["ok"] is True


def test_readyz_checks_real_redis(make_app: AppFactory, redis_url: str) -> None:
    reply = make_app(REDIS_URL=redis_url).test_client().get("/readyz")
    assert reply.status_code == 200
    assert reply.json["checks"]["redis"]["ok"] is True

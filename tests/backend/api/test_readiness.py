"""/readyz is unauthenticated: it names what is down, never how it failed."""

from __future__ import annotations

import logging
import socket

import pytest

from tests.conftest import AppFactory


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failed_check_says_what_is_down_and_logs_why(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    app = make_app(REDIS_URL=f"redis://:hunter2@127.0.0.1:{port}/0")
    with caplog.at_level(logging.WARNING):
        reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    redis = reply.json["checks"]["redis"]
    assert redis["ok"] is False
    assert redis["error"] == "redis is not reachable; see the server log"
    body = reply.get_data(as_text=True)
    assert str(port) not in body
    assert "hunter2" not in body
    assert "readiness check redis failed" in caplog.text

"""Every reply carries security headers; the docs page still works; the server names no versions;
a request body must arrive in time (issue 12)."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from backend.serving import BodyDeadline, RequestHandler

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _has_security_headers(reply: Any) -> None:
    for name, value in EVERYWHERE.items():
        assert reply.headers.get(name) == value, (name, reply.headers)
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]


def test_json_replies_errors_and_404s_carry_security_headers(client: FlaskClient) -> None:
    for reply in (
        client.get("/healthz"),
        client.get("/api/v1/hazards"),  # 401
        client.get("/api/v1/nothing-here"),  # 404
        client.get("/api/openapi.json"),
    ):
        _has_security_headers(reply)
        assert reply.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_docs_page_may_run_swagger_ui_and_nothing_else(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    _has_security_headers(page)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy
    assert "connect-src 'self'" in policy  # it fetches /api/openapi.json
    assert "http" not in policy  # no other origin
    static = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert static.status_code == 200
    _has_security_headers(static)
    static.close()


class _Trickle(io.RawIOBase):
    """A client that sends a byte now and then."""

    def __init__(self, total: int, pause: float) -> None:
        self.left, self.pause = total, pause

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        time.sleep(self.pause)
        buffer[0:1] = b"x"
        self.left -= 1
        return 1


def test_a_body_that_trickles_in_past_the_deadline_is_408(app: Flask) -> None:
    deadline = BodyDeadline(app.wsgi_app.app, 0.2)  # type: ignore[attr-defined]
    builder = EnvironBuilder(
        path="/api/v1/auth/token",
        method="POST",
        content_type="application/json",
    )
    environ = builder.get_environ()
    environ["CONTENT_LENGTH"] = "50"
    environ["wsgi.input"] = io.BufferedReader(_Trickle(50, 0.02), buffer_size=1)
    body, status, _headers = run_wsgi_app(deadline, environ, buffered=True)
    assert status.startswith("408"), b"".join(body)
    assert json.loads(b"".join(body))["code"] == "http.408"


def test_the_dev_server_drops_a_stalled_body_and_names_no_versions(app: Flask) -> None:
    class Impatient(RequestHandler):
        timeout = 0.5

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Impatient)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = sock.recv(4096).decode()
            assert "Server: anjian" in head
            assert "Werkzeug" not in head
            assert "Python" not in head
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            while sock.recv(4096):  # the server gives up on us and closes
                pass
        assert time.monotonic() - started < 5
    finally:
        server.shutdown()

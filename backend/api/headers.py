"""Security headers on every reply (issue 12): nothing is sniffed into another type, nothing is
framed, no referrer leaks a record id, and a reply can run no script but the docs page's."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

# JSON, photos and spreadsheets need no active content at all.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI (flask-smorest's page): its scripts and styles from our own static path, the one
# inline script that starts it, inline styles it sets, and its data: icons.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATH = "/api/docs"


def secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    docs = request.path == DOCS_PATH or request.path.startswith(DOCS_PATH + "/")
    headers.setdefault("Content-Security-Policy", DOCS_POLICY if docs else API_POLICY)
    return response


def register(app: Flask) -> None:
    app.after_request(secure)

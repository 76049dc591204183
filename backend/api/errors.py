"""The one table from domain errors to HTTP, and the handlers that render the one error shape:
{"code": "<stable.dotted.code>", "status": <int>, "message": "<human text>", "errors": {...}}.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

import checklists
import media
from backend import errors as e
from media import documents as media_documents
from reports import check as report_check

log = logging.getLogger(__name__)

# Domain errors carry their status and code (backend.errors). These are the exceptions of the
# framework-free packages, which know nothing of HTTP, and of the database driver; most specific
# class first: the first isinstance match wins.
FOREIGN: list[tuple[type[Exception], int, str]] = [
    (media_documents.InvalidPdf, 422, "document.invalid_pdf"),
    (media_documents.NotADocument, 415, "document.unsupported_type"),
    (media_documents.TypeMismatch, 415, "document.type_mismatch"),
    (media.InvalidHash, 422, "media.invalid_hash"),
    (media.NotAnImage, 422, "media.not_an_image"),
    (media.TooManyPixels, 422, "media.too_many_pixels"),
    (media.TooLarge, 413, "media.too_large"),
    (media.StoreUnavailable, 503, "media.store_unavailable"),
    (media.ObjectNotFound, 404, "media.not_found"),
    (OperationalError, 503, "server.unavailable"),
    (checklists.UnknownItem, 422, "checklist.unknown_item"),
    (report_check.TooLarge, 413, "report_check.too_large"),
    (report_check.WrongTemplate, 422, "report_check.wrong_template"),
    (report_check.UnreadableTable, 422, "report_check.unreadable"),
    (report_check.UnknownTemplate, 422, "report_check.unknown_template"),
    (checklists.InvalidAnswer, 422, "checklist.invalid_answer"),
]


def domain_errors() -> list[type[e.DomainError]]:
    """Every domain error class defined so far (services define theirs at import)."""
    found, todo = [], [e.DomainError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def codes() -> dict[str, int]:
    """The one list of codes this API can answer with an error, and each one's status."""
    table = {cls.code: cls.status for cls in domain_errors()}
    table.update({code: status for _cls, status, code in FOREIGN})
    return table


# A dependency is down: when to retry, and what to tell the client (not the internal details).
UNAVAILABLE: dict[type[Exception], tuple[str, str]] = {
    media.StoreUnavailable: (
        "30",
        "The photo store is not reachable right now; nothing was kept. "
        "Send the photo again after Retry-After seconds.",
    ),
}

HTTP_CODES = {
    400: "request.bad",
    401: "auth.required",
    403: "auth.forbidden",
    404: "http.not_found",
    405: "http.method_not_allowed",
    406: "http.not_acceptable",
    409: "conflict",
    412: "http.precondition_failed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "validation.invalid",
    428: "http.precondition_required",
    429: "http.too_many_requests",
    500: "server.error",
    503: "server.unavailable",
}


def error_response(
    status: int, code: str, message: str, errors: Any = None, headers: Any = None
) -> Response:
    body = {"code": code, "status": status, "message": message, "errors": errors or {}}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if status == 401:  # RFC 9110: a 401 names the scheme that would work
        response.headers.setdefault("WWW-Authenticate", "Bearer")
    return response


def handle_domain_error(exc: e.DomainError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.errors, exc.headers)


def handle_foreign_error(exc: Exception) -> Response:
    for cls, status, code in FOREIGN:
        if isinstance(exc, cls):
            if isinstance(exc, OperationalError):
                log.warning("database unavailable: %s", exc)
                return error_response(
                    503,
                    code,
                    "The database is not reachable right now. "
                    "Nothing was saved; try again shortly.",
                    headers={"Retry-After": "5"},
                )
            if cls in UNAVAILABLE:
                log.warning("%s: %s", code, exc)
                retry_after, message = UNAVAILABLE[cls]
                return error_response(status, code, message, headers={"Retry-After": retry_after})
            return error_response(status, code, str(exc), getattr(exc, "errors", None))
    raise exc


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status < 400:  # 304 Not Modified and redirects are not errors
        return exc.get_response()
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    headers = dict(data.get("headers") or {})
    if "code" in data:  # raised by our own code with a stable code and message
        return error_response(status, data["code"], data["message"], messages, headers)
    if status == 400 and isinstance(getattr(exc, "exc", None), ValueError):
        # webargs attaches the JSONDecodeError / UnicodeDecodeError it caught.
        return error_response(
            400,
            "request.malformed_json",
            "The request body is not valid JSON. Check its syntax.",
            messages,
            headers,
        )
    if status == 422 and messages:
        return error_response(
            422, "validation.invalid", _validation_message(messages), messages, headers
        )
    if status == 413:
        return error_response(
            413,
            "request.too_large",
            "The request body is larger than this server accepts. Send less at a time.",
            {},
            headers,
        )
    if status == 405:
        headers.update(dict(exc.get_headers()) if hasattr(exc, "get_headers") else {})
        headers.pop("Content-Type", None)
    message = data.get("message") or exc.description or exc.name
    return error_response(
        status, HTTP_CODES.get(status, f"http.{status}"), message, messages, headers
    )


def _validation_message(messages: Any) -> str:
    fields: list[str] = []
    for location in messages.values() if isinstance(messages, dict) else []:
        if isinstance(location, dict):
            fields.extend(_field_paths(location))
    if not fields:
        return "The request is not valid. See errors for details."
    return "Fix these fields and send again: " + ", ".join(fields) + "."


def _field_paths(tree: dict[Any, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            paths.extend(_field_paths(value, path))
        else:
            paths.append(path)
    return paths


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(
        500,
        "server.error",
        "Something went wrong on the server. Try again; if it keeps "
        "happening, report the time of the request.",
    )


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(e.DomainError, handle_domain_error)
    for cls, _status, _code in FOREIGN:
        app.register_error_handler(cls, handle_foreign_error)
    app.register_error_handler(Exception, handle_unexpected)

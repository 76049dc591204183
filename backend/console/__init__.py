"""The supervisors' web console under /console/: server-rendered Chinese pages over the same
services as the API (docs/console.md).

Requests here share the API's plumbing (`backend.api.context`): one session per request,
committed once by `finish_request` when the response is not an error. The person is known by a
cookie session holding an access token issued by the same sign-in service; every form carries a
CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, url_for
from werkzeug.wrappers import Response

blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def register(app: Flask) -> None:
    from . import admin, errors, ledger, media, review, signin  # noqa: F401  (their routes)

    app.config.setdefault("SESSION_COOKIE_NAME", "anjian_console")
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_PATH", "/console")
    app.register_blueprint(blp)
    app.add_url_rule("/", "root", _to_console)


def _to_console() -> Response:
    return redirect(url_for("console.queue"))

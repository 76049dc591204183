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


def _content_security_policy() -> str:
    """Scripts, styles and fonts only from this site, no inline code of any kind; images also
    from the photo store's public address, where presigned downloads redirect."""
    from urllib.parse import urlsplit

    from backend.api.context import services

    s3 = services().config.s3
    endpoint = s3 and (s3.public_endpoint_url or s3.endpoint_url)
    store = ""
    if endpoint:
        parts = urlsplit(endpoint)
        store = f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data:{store}; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@blp.after_request
def _headers(response: Response) -> Response:
    # Pages hold personal and enterprise data: never cached by a shared browser, never framed.
    response.headers.setdefault("Content-Security-Policy", _content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask) -> None:
    from . import admin, bundles, errors, ledger, media, reports, review, signin  # noqa: F401  (routes)

    # The console's cookie, unless the app already chose otherwise (Flask's own defaults).
    for key, flask_default, ours in (
        ("SESSION_COOKIE_NAME", "session", "anjian_console"),
        ("SESSION_COOKIE_SAMESITE", None, "Lax"),
        ("SESSION_COOKIE_PATH", None, "/console"),
    ):
        if app.config.get(key) == flask_default:
            app.config[key] = ours
    app.register_blueprint(blp)
    app.add_url_rule("/", "root", _to_console)


def _to_console() -> Response:
    return redirect(url_for("console.queue"))

"""Who is signed in to the console, and the CSRF check on every form.

The cookie (signed with SECRET_KEY, HttpOnly, SameSite=Lax, path /console) holds an access
token issued by `services.auth.login` and a random CSRF token. Each request authenticates the
access token with `services.auth.authenticate`, exactly as a bearer token: a revoked token, a
disabled account or a changed password signs the person out here too. A console token lives a
working day (`CONSOLE_SESSION_SECONDS`), not the tablets' thirty days.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from backend.api.context import db, note_caller, services
from backend.errors import DomainError, PermissionDenied
from backend.models import Role, User
from backend.services import auth

F = TypeVar("F", bound=Callable[..., Any])
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class CsrfRefused(BadRequest):
    """A form posted without this session's CSRF token."""

    description = "页面已过期或来源不明，操作未执行。请刷新页面后重试。"


def session_seconds() -> int:
    return int(current_app.config.get("CONSOLE_SESSION_SECONDS", SESSION_SECONDS))


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return cast(str, token)


def check_csrf() -> None:
    """Refuse an unsafe request whose form field or header does not carry the token."""
    if request.method not in UNSAFE:
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), given):
        raise CsrfRefused()


def current_user() -> User | None:
    return cast(User | None, g.get("console_user"))


def user() -> User:
    return cast(User, g.console_user)


def sign_in(username: str, password: str) -> User:
    """Check the password with the sign-in service; keep the token it issued in the cookie."""
    svc = services()
    console_policy = replace(svc.login_policy, token_ttl=timedelta(seconds=session_seconds()))
    issued = auth.login(
        db(), svc.db.sessionmaker, console_policy, username=username, password=password
    )
    session.clear()
    session["token"] = issued.token
    csrf_token()
    return issued.user


def sign_out() -> None:
    token = session.get("token")
    if token:
        try:
            access = auth.authenticate(db(), services().config.secret_key, token)
        except DomainError:
            access = None
        if access is not None:
            auth.revoke_token(db(), access)
    session.clear()


def load_user() -> User | None:
    token = session.get("token")
    if not token:
        return None
    try:
        access = auth.authenticate(db(), services().config.secret_key, str(token))
    except DomainError:
        session.pop("token", None)
        return None
    g.console_user = access.user
    note_caller(access)
    return access.user


def safe_next(target: str | None) -> str:
    """Only a console path of this site: never another host (an open redirect)."""
    default = url_for("console.queue")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return default
    if parts.path.startswith(("/console/login", "/console/logout")):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _back_here() -> str:
    """Where to return after signing in: this page, or for a form post the page it is on."""
    if request.method == "GET" and not request.headers.get("HX-Request"):
        return request.full_path.rstrip("?")
    origin = request.headers.get("HX-Current-URL") or request.referrer or ""
    parts = urlsplit(origin)
    if parts.netloc and parts.netloc != request.host:
        return url_for("console.queue")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def to_sign_in() -> Response:
    target = url_for("console.login", next=safe_next(_back_here()), expired=1)
    if request.headers.get("HX-Request"):
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def signed_in(*roles: Role) -> Callable[[F], F]:
    """The page needs a signed-in person (else: to sign-in and back); with roles, one of them."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            person = load_user()
            if person is None:
                return to_sign_in()
            check_csrf()
            if roles and person.role not in roles:
                raise PermissionDenied("This page is not for your role.")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator

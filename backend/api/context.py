"""Per-request plumbing: one session per request, committed in one place, and the caller.

A request loads, authorises and acts through services that only flush; `finish_request` commits
once when the response is a success, and only then runs the side effects registered with
`after_commit`. An error response rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from backend.errors import AuthenticationRequired
from backend.extensions import Services
from backend.models import AccessToken, Role, User
from backend.services import auth, scope

F = TypeVar("F", bound=Callable[..., Any])


def services() -> Services:
    return cast(Services, current_app.extensions["anjian"])


def db() -> Session:
    if "db" not in g:
        session = services().db.sessionmaker()
        # A test binds sessions to one open connection; its transaction is already running.
        if g.get("snapshot") and not isinstance(session.bind, Connection):
            dialect = session.get_bind().dialect.name
            options = (
                {"isolation_level": "REPEATABLE READ"}
                if dialect == "postgresql"
                else {"sqlite_begin": "DEFERRED"}
            )
            session.connection(execution_options=options)
        g.db = session
    return cast(Session, g.db)


def snapshot_reads(view: F) -> F:
    """Run the whole request, authentication included, in one read snapshot: REPEATABLE READ
    on PostgreSQL, a DEFERRED transaction (no write lock) on SQLite."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.snapshot = True
        return view(*args, **kwargs)

    return cast(F, wrapper)


def after_commit(callback: Callable[[], None]) -> None:
    g.setdefault("after_commit", []).append(callback)


def current_user() -> User:
    return cast(User, g.user)


def current_token() -> AccessToken:
    return cast(AccessToken, g.access_token)


def note_caller(access: AccessToken) -> None:
    """Who is calling, as plain values for the request's log line (written after the session
    has closed, when the ORM objects can no longer load anything)."""
    g.caller = (str(access.user_id), str(access.device_id) if access.device_id else None)


def login_required(*roles: Role) -> Callable[[F], F]:
    """Authenticate the bearer token; with roles, also require one of them."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationRequired(
                    "Send 'Authorization: Bearer <token>'; "
                    "get a token from POST /api/v1/auth/token."
                )
            access = auth.authenticate(db(), services().config.secret_key, token.strip())
            g.access_token, g.user = access, access.user
            note_caller(access)
            if roles:
                scope.require_role(access.user, *roles)
            return view(*args, **kwargs)

        doc = getattr(wrapper, "_apidoc", {})
        doc.setdefault("manual_doc", {}).setdefault("security", [{"bearerAuth": []}])
        wrapper._apidoc = doc  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


def finish_request(response: Response) -> Response:
    session: Session | None = g.pop("db", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
    for callback in g.pop("after_commit", []):
        callback()
    return response


def discard_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        session.rollback()
        session.close()


def register(app: Flask) -> None:
    app.after_request(finish_request)
    app.teardown_request(discard_session)

"""Factories that read as the domain: make_unit(), make_user(), make_enterprise()."""

from __future__ import annotations

import functools
import itertools
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.domain.credit_code import check_character
from backend.models import AccessToken, Enterprise, Role, Unit, UnitKind, User, utcnow
from backend.services import auth, enterprises, organisation

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    from backend.services.auth import hash_password

    return hash_password(PASSWORD)


def make_unit(
    session: Session,
    name: str | None = None,
    *,
    kind: UnitKind = UnitKind.district,
    parent: Unit | None = None,
) -> Unit:
    if parent is not None and kind is UnitKind.district:
        kind = UnitKind.town
    return organisation.create_unit(
        session, None, name=name or f"单位{next(_counter)}", kind=kind, parent=parent
    )


def make_user(
    session: Session,
    unit: Unit,
    role: Role = Role.inspector,
    username: str | None = None,
) -> User:
    user = User(
        username=username or f"user{next(_counter)}",
        display_name="测试用户",
        role=role,
        unit_id=unit.id,
        password_hash=_password_hash(),
    )
    session.add(user)
    session.flush()
    return user


def credit_code(n: int | None = None) -> str:
    first17 = f"91350102MA{(n or next(_counter)):07d}"
    return first17 + check_character(first17)


def make_enterprise(session: Session, unit: Unit, **values: Any) -> Enterprise:
    """Through the service, so the audit log and the change log see it too."""
    values.setdefault("name", f"企业{next(_counter)}")
    values.setdefault("sector", "gas")
    return enterprises.create(session, None, unit, values)


def token_for(client: FlaskClient, user: User, **extra: Any) -> str:
    reply = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD, **extra}
    )
    assert reply.status_code == 200, reply.json
    return str(reply.json["access_token"])


def bearer_headers(app: Flask, session: Session, user: User) -> dict[str, str]:
    """A bearer token for the user, stored the way sign-in stores one, without signing in
    (signing in is tested elsewhere and costs a password hash per call). Flushed, not
    committed."""
    token = "aj_" + secrets.token_urlsafe(32)
    secret = app.extensions["anjian"].config.secret_key
    session.add(
        AccessToken(
            token_hash=auth.token_hash(secret, token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def auth_headers(client: FlaskClient, user: User, **extra: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(client, user, **extra)}"}

"""Sign-in, tokens tied to devices, revocation and lock-out."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AccessToken, Role, User
from tests.factories import PASSWORD, auth_headers, make_unit, make_user, token_for


def test_a_user_signs_in_and_gets_a_bearer_token(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    reply = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
    )
    assert reply.status_code == 200
    body = reply.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["user"]["username"] == user.username
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json["id"] == str(user.id)


def test_only_a_hash_of_the_token_is_stored(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    token = token_for(client, user)
    stored = session.scalars(select(AccessToken.token_hash)).all()
    assert stored
    assert token not in stored


def test_passwords_are_hashed_with_scrypt(session: Session) -> None:
    from backend.services.auth import hash_password

    assert hash_password("a long enough password").startswith("scrypt:")


def test_a_wrong_password_is_401_in_the_error_shape(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    reply = client.post("/api/v1/auth/token", json={"username": user.username, "password": "wrong"})
    assert reply.status_code == 401
    assert reply.json == {
        "code": "auth.invalid_credentials",
        "status": 401,
        "message": "Wrong username or password.",
        "errors": {},
    }


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client: FlaskClient) -> None:
    reply = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert reply.status_code == 401
    assert reply.json["code"] == "auth.invalid_credentials"


def test_repeated_failures_lock_the_account(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": user.username, "password": "no"})
    reply = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
    )
    assert reply.status_code == 429
    assert reply.json["code"] == "auth.locked"
    assert int(reply.headers["Retry-After"]) > 0


def test_a_success_resets_the_failure_count(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    for _ in range(4):
        client.post("/api/v1/auth/token", json={"username": user.username, "password": "no"})
    token_for(client, user)
    session.refresh(user)
    assert user.failed_logins == 0


def test_requests_without_a_token_are_401(client: FlaskClient) -> None:
    reply = client.get("/api/v1/enterprises")
    assert reply.status_code == 401
    assert reply.json["code"] == "auth.required"


def test_a_garbage_token_is_401(client: FlaskClient) -> None:
    reply = client.get("/api/v1/enterprises", headers={"Authorization": "Bearer nonsense"})
    assert reply.status_code == 401


def test_logout_revokes_the_token(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    headers = auth_headers(client, user)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    reply = client.get("/api/v1/auth/me", headers=headers)
    assert reply.status_code == 401
    assert reply.json["code"] == "auth.token_revoked"


def test_an_admin_revokes_a_lost_tablet(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    admin = make_user(session, district, Role.admin)
    inspector = make_user(session, make_unit(session, parent=district))
    device_id = str(uuid.uuid4())
    tablet = auth_headers(client, inspector, device_id=device_id)
    other = auth_headers(client, inspector)
    reply = client.post(
        f"/api/v1/devices/{device_id}/revoke",
        json={"reason": "lost on site"},
        headers=auth_headers(client, admin),
    )
    assert reply.status_code == 200
    assert client.get("/api/v1/auth/me", headers=tablet).status_code == 401
    assert client.get("/api/v1/auth/me", headers=other).status_code == 200
    again = client.post(
        "/api/v1/auth/token",
        json={"username": inspector.username, "password": PASSWORD, "device_id": device_id},
    )
    assert again.status_code == 403
    assert again.json["code"] == "auth.device_revoked"


def test_an_inspector_cannot_revoke_devices(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session))
    device_id = str(uuid.uuid4())
    headers = auth_headers(client, inspector, device_id=device_id)
    reply = client.post(
        f"/api/v1/devices/{device_id}/revoke", json={"reason": "x"}, headers=headers
    )
    assert reply.status_code == 403
    assert reply.json["code"] == "auth.forbidden"


def test_a_device_id_belongs_to_one_user(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    first, second = make_user(session, unit), make_user(session, unit)
    device_id = str(uuid.uuid4())
    token_for(client, first, device_id=device_id)
    reply = client.post(
        "/api/v1/auth/token",
        json={"username": second.username, "password": PASSWORD, "device_id": device_id},
    )
    assert reply.status_code == 409
    assert reply.json["code"] == "auth.device_taken"


def test_disabling_a_user_revokes_their_tokens(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    admin = make_user(session, district, Role.admin)
    user = make_user(session, district)
    headers = auth_headers(client, user)
    reply = client.patch(
        f"/api/v1/users/{user.id}", json={"active": False}, headers=auth_headers(client, admin)
    )
    assert reply.status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert session.get(User, user.id) is not None

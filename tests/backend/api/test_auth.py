"""Sign-in, tokens tied to devices, revocation and lock-out."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from backend.models import AccessToken, AuditEntry, Role, User
from backend.models.organisation import LoginFailure
from tests.factories import PASSWORD, auth_headers, make_unit, make_user, token_for

NEW_PASSWORD = "a brand new long password"


def sign_in(client: FlaskClient, username: str, password: str) -> int:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return reply.status_code


def actions(session: Session, entity_id: object) -> list[str]:
    query = select(AuditEntry.action).where(AuditEntry.entity_id == str(entity_id))
    return list(session.scalars(query.order_by(AuditEntry.id)))


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
        assert sign_in(client, user.username, "no") == 401
    token_for(client, user)
    for _ in range(4):
        assert sign_in(client, user.username, "no") == 401
    assert session.get(LoginFailure, user.username).failures == 4


def test_failures_are_kept_although_the_request_fails(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_unit(session))
    assert sign_in(client, user.username, "no") == 401
    assert session.get(LoginFailure, user.username).failures == 1
    assert actions(session, user.username) == ["auth.failure"]


def test_an_unknown_username_locks_like_a_known_one(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    known = [sign_in(client, user.username, "no") for _ in range(6)]
    unknown = [sign_in(client, "nobody-at-all", "no") for _ in range(6)]
    assert known == unknown == [401] * 5 + [429]


def test_sign_ins_failures_and_lock_outs_are_audited(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    token_for(client, user)
    assert actions(session, user.id) == ["auth.login"]
    for _ in range(5):
        sign_in(client, user.username, "no")
    assert actions(session, user.username) == ["auth.failure"] * 5 + ["auth.lock"]


def test_a_nul_in_the_username_is_refused_like_in_any_field(client: FlaskClient) -> None:
    # The accepted-text rule (docs/decision-accepted-text.md) is the same for every field, so
    # the 422 tells nothing about which usernames or passwords exist.
    reply = client.post("/api/v1/auth/token", json={"username": "a\u0000b", "password": "x"})
    assert reply.status_code == 422
    assert reply.json["code"] == "validation.invalid"


def test_a_401_names_the_bearer_scheme(client: FlaskClient) -> None:
    assert client.get("/api/v1/auth/me").headers["WWW-Authenticate"] == "Bearer"
    reply = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert reply.headers["WWW-Authenticate"] == "Bearer"


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
    reply = client.patch(
        f"/api/v1/users/{user.id}", json={"active": True}, headers=auth_headers(client, admin)
    )
    assert reply.status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).json["code"] == "auth.token_revoked"
    assert session.get(User, user.id) is not None


def test_an_admins_password_reset_revokes_tokens_and_lifts_a_lock(
    client: FlaskClient, session: Session
) -> None:
    district = make_unit(session)
    admin = make_user(session, district, Role.admin)
    user = make_user(session, make_unit(session, parent=district))
    headers = auth_headers(client, user)
    for _ in range(5):
        sign_in(client, user.username, "no")
    assert sign_in(client, user.username, PASSWORD) == 429
    reply = client.patch(
        f"/api/v1/users/{user.id}",
        json={"password": NEW_PASSWORD},
        headers=auth_headers(client, admin),
    )
    assert reply.status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).json["code"] == "auth.token_revoked"
    assert sign_in(client, user.username, NEW_PASSWORD) == 200


def change_password(
    client: FlaskClient, headers: dict[str, str], current: str, new: str = NEW_PASSWORD
) -> TestResponse:
    return client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": new},
        headers=headers,
    )


def test_a_user_changes_their_own_password(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    headers, other = auth_headers(client, user), auth_headers(client, user)
    assert change_password(client, headers, PASSWORD).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=other).json["code"] == "auth.token_revoked"
    assert sign_in(client, user.username, PASSWORD) == 401
    assert sign_in(client, user.username, NEW_PASSWORD) == 200
    assert "user.password_change" in actions(session, user.id)


def test_a_password_change_needs_the_current_password(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_unit(session))
    reply = change_password(client, auth_headers(client, user), "not my password")
    assert reply.status_code == 403
    assert reply.json["code"] == "auth.wrong_password"
    assert "current_password" in reply.json["errors"]
    assert sign_in(client, user.username, PASSWORD) == 200


def test_a_short_or_nul_new_password_is_422(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_unit(session))
    headers = auth_headers(client, user)
    reply = change_password(client, headers, PASSWORD, "short")
    assert reply.status_code == 422
    assert "new_password" in reply.json["errors"]
    reply = change_password(client, headers, PASSWORD, "long enough\u0000password")
    assert reply.status_code == 422
    assert "new_password" in reply.json["errors"]["json"]
    assert sign_in(client, user.username, PASSWORD) == 200


def test_anonymous_guesses_do_not_lock_a_user_out_of_a_known_device(
    client: FlaskClient, session: Session
) -> None:
    admin = make_user(session, make_unit(session), Role.admin)
    device_id = str(uuid.uuid4())
    token_for(client, admin, device_id=device_id)  # the admin's own tablet, registered
    for _ in range(8):  # anyone, with no credentials at all
        sign_in(client, admin.username, "guess")
    assert sign_in(client, admin.username, PASSWORD) == 429  # elsewhere: still locked
    reply = client.post(
        "/api/v1/auth/token",
        json={"username": admin.username, "password": PASSWORD, "device_id": device_id},
    )
    assert reply.status_code == 200, reply.json


def test_guesses_from_a_known_device_lock_that_device(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_unit(session))
    device_id = str(uuid.uuid4())
    token_for(client, user, device_id=device_id)
    body = {"username": user.username, "device_id": device_id}
    for _ in range(5):
        client.post("/api/v1/auth/token", json={**body, "password": "guess"})
    reply = client.post("/api/v1/auth/token", json={**body, "password": PASSWORD})
    assert reply.status_code == 429
    assert sign_in(client, user.username, PASSWORD) == 200  # the name itself is not locked


def test_a_device_of_another_user_does_not_pass_the_lock(
    client: FlaskClient, session: Session
) -> None:
    unit = make_unit(session)
    victim, other = make_user(session, unit, Role.admin), make_user(session, unit)
    device_id = str(uuid.uuid4())
    token_for(client, other, device_id=device_id)
    for _ in range(5):
        sign_in(client, victim.username, "guess")
    reply = client.post(
        "/api/v1/auth/token",
        json={"username": victim.username, "password": "guess", "device_id": device_id},
    )
    assert reply.status_code == 429

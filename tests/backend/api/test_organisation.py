"""The admin API for units and users, and who may use it."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.models import Role, UnitKind
from tests.factories import auth_headers, make_unit, make_user


def test_an_admin_creates_a_town_under_their_district(
    client: FlaskClient, session: Session
) -> None:
    district = make_unit(session)
    headers = auth_headers(client, make_user(session, district, Role.admin))
    reply = client.post(
        "/api/v1/units",
        headers=headers,
        json={"name": "城关街道", "kind": "town", "parent_id": str(district.id)},
    )
    assert reply.status_code == 201
    assert reply.json["parent_id"] == str(district.id)
    listed = client.get("/api/v1/units", headers=headers).json["items"]
    assert {u["name"] for u in listed} == {district.name, "城关街道"}


def test_a_town_admin_cannot_create_units_elsewhere(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    town = make_unit(session, parent=district)
    other_district = make_unit(session)
    headers = auth_headers(client, make_user(session, town, Role.admin))
    reply = client.post(
        "/api/v1/units",
        headers=headers,
        json={"name": "x", "kind": "town", "parent_id": str(other_district.id)},
    )
    assert reply.status_code == 404


def test_a_supervisor_cannot_use_the_admin_api(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    headers = auth_headers(client, make_user(session, unit, Role.supervisor))
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    reply = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "x1",
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(unit.id),
            "password": "long enough password",
        },
    )
    assert reply.status_code == 403


def test_an_admin_creates_a_user_who_can_sign_in(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    town = make_unit(session, parent=district, kind=UnitKind.town)
    headers = auth_headers(client, make_user(session, district, Role.admin))
    reply = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "li.jiancha",
            "display_name": "李检查",
            "role": "inspector",
            "unit_id": str(town.id),
            "password": "a long password",
        },
    )
    assert reply.status_code == 201
    assert "password" not in reply.json
    token = client.post(
        "/api/v1/auth/token", json={"username": "li.jiancha", "password": "a long password"}
    )
    assert token.status_code == 200


def test_a_short_password_is_refused(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    headers = auth_headers(client, make_user(session, district, Role.admin))
    reply = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "shorty",
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(district.id),
            "password": "short",
        },
    )
    assert reply.status_code == 422
    assert "password" in reply.json["errors"]


def test_a_taken_username_is_409(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    admin = make_user(session, district, Role.admin)
    reply = client.post(
        "/api/v1/users",
        headers=auth_headers(client, admin),
        json={
            "username": admin.username,
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(district.id),
            "password": "a long password",
        },
    )
    assert reply.status_code == 409


def test_users_of_another_district_are_invisible(client: FlaskClient, session: Session) -> None:
    mine, theirs = make_unit(session), make_unit(session)
    stranger = make_user(session, theirs)
    headers = auth_headers(client, make_user(session, mine, Role.admin))
    assert client.get(f"/api/v1/users/{stranger.id}", headers=headers).status_code == 404
    assert (
        client.patch(
            f"/api/v1/users/{stranger.id}", json={"active": False}, headers=headers
        ).status_code
        == 404
    )


def test_an_admin_cannot_disable_themselves(client: FlaskClient, session: Session) -> None:
    admin = make_user(session, make_unit(session), Role.admin)
    reply = client.patch(
        f"/api/v1/users/{admin.id}", json={"active": False}, headers=auth_headers(client, admin)
    )
    assert reply.status_code == 403

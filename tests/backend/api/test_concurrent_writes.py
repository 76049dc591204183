"""Parallel requests that clash on a unique name or a version get a 409, never a 500: the
database's constraints decide, and the services map what they say."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Device, Role, Unit, User
from tests.factories import PASSWORD, auth_headers, make_enterprise, make_unit, make_user

RACERS = 8


def race(app: Flask, request: Callable[[FlaskClient, int], Any]) -> list[tuple[int, str | None]]:
    """`RACERS` threads, each with its own test client, released at once; (status, code)
    of each reply, sorted."""
    barrier = threading.Barrier(RACERS)
    replies: list[tuple[int, str | None]] = []

    def run(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        reply = request(client, i)
        replies.append((reply.status_code, (reply.json or {}).get("code")))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(replies, key=lambda r: (r[0], r[1] or ""))


class World:
    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.session = session
        self.district = make_unit(session)
        self.town = make_unit(session, parent=self.district)
        self.admin = make_user(session, self.district, Role.admin)
        self.inspector = make_user(session, self.town)
        self.enterprise = make_enterprise(session, self.town, name="城关燃气")
        session.commit()
        client = app.test_client()
        self.admin_headers = auth_headers(client, self.admin)
        self.inspector_headers = auth_headers(client, self.inspector)

    def count(self, query: Any) -> int:
        value = int(self.session.scalar(query) or 0)
        self.session.commit()  # never hold a transaction open while the app works
        return value


@pytest.fixture
def world(live_app: Flask, live_session: Session) -> World:
    return World(live_app, live_session)


def test_parallel_users_with_one_username_get_one_201_and_409s(world: World) -> None:
    def create(client: FlaskClient, _i: int) -> Any:
        body = {
            "username": "same.name",
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(world.town.id),
            "password": "a long password",
        }
        return client.post("/api/v1/users", json=body, headers=world.admin_headers)

    replies = race(world.app, create)
    assert replies == [(201, None)] + [(409, "user.username_taken")] * (RACERS - 1)
    query = select(func.count()).select_from(User).where(User.username == "same.name")
    assert world.count(query) == 1


def test_parallel_sibling_units_with_one_name_get_one_201_and_409s(world: World) -> None:
    def create(client: FlaskClient, _i: int) -> Any:
        body = {"name": "同名镇", "kind": "town", "parent_id": str(world.district.id)}
        return client.post("/api/v1/units", json=body, headers=world.admin_headers)

    replies = race(world.app, create)
    assert replies == [(201, None)] + [(409, "unit.name_taken")] * (RACERS - 1)
    assert world.count(select(func.count()).select_from(Unit).where(Unit.name == "同名镇")) == 1


def test_parallel_updates_of_one_version_get_one_200_and_409s(world: World) -> None:
    def update(client: FlaskClient, i: int) -> Any:
        return client.patch(
            f"/api/v1/enterprises/{world.enterprise.id}",
            json={"name": f"新名{i}", "expected_version": 1},
            headers=world.inspector_headers,
        )

    replies = race(world.app, update)
    assert replies == [(200, None)] + [(409, "conflict.stale_version")] * (RACERS - 1)


def test_parallel_blind_updates_never_fail_with_500(world: World) -> None:
    def update(client: FlaskClient, i: int) -> Any:
        return client.patch(
            f"/api/v1/enterprises/{world.enterprise.id}",
            json={"address": f"解放路{i}号"},
            headers=world.inspector_headers,
        )

    replies = race(world.app, update)
    assert (200, None) in replies
    assert set(replies) <= {(200, None), (409, "conflict.stale_version")}


def test_parallel_first_sign_ins_on_one_tablet_register_it_once(world: World) -> None:
    device_id = str(uuid.uuid4())

    def sign_in(client: FlaskClient, _i: int) -> Any:
        body = {"username": world.inspector.username, "password": PASSWORD, "device_id": device_id}
        return client.post("/api/v1/auth/token", json=body)

    assert race(world.app, sign_in) == [(200, None)] * RACERS
    query = select(func.count()).select_from(Device).where(Device.id == uuid.UUID(device_id))
    assert world.count(query) == 1

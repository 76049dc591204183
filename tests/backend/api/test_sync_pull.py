"""POST /sync/pull on databases where commits are real: what a tablet learns, and when."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from backend.models import Role, Unit, User
from tests.factories import auth_headers, make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, save_args, wait_for_horizon


class World:
    def __init__(self, app: Flask, session: Session) -> None:
        self.client = app.test_client()
        self.session = session
        self.district = make_unit(session)
        self.unit = make_unit(session, parent=self.district)
        self.other_unit = make_unit(session, parent=self.district)
        self.enterprise = make_enterprise(session, self.unit, name="城关燃气")
        make_enterprise(session, self.other_unit, name="别处企业")
        self.inspector = make_user(session, self.unit)
        session.commit()
        self.tablet = self.tablet_for(self.inspector)

    def tablet_for(self, user: User) -> Tablet:
        self.session.commit()
        return Tablet(self.client, auth_headers(self.client, user))

    def save(self, tablet: Tablet | None = None, **kwargs: Any) -> dict[str, Any]:
        tablet = tablet or self.tablet
        args = save_args(self.session, self.enterprise.id, **kwargs)
        self.session.commit()  # never hold a transaction open while the app works
        reply = tablet.push(tablet.command("inspection.save@1", args))
        assert reply.json["results"][0]["status"] == "applied", reply.json
        return args


@pytest.fixture
def world(live_app: Flask, live_session: Session) -> World:
    return World(live_app, live_session)


def everything(
    tablet: Tablet, cursors: dict[str, str | None] | None = None, limit: int = 500
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Pull until has_more is false; return every change and the last reply."""
    wait_for_horizon(tablet.client.application.extensions["anjian"].db.engine)
    changes: list[dict[str, Any]] = []
    cursors = dict(cursors or {})
    while True:
        reply = tablet.pull(cursors, limit=limit)
        assert reply.status_code == 200, reply.json
        changes += reply.json["changes"]
        cursors.update(reply.json["cursors"])
        if not reply.json["has_more"]:
            return changes, {**reply.json, "cursors": cursors}


def test_a_first_pull_brings_checklists_enterprises_and_own_inspections(world: World) -> None:
    args = world.save()
    changes, reply = everything(world.tablet)
    kinds = {(c["bucket"].split(":")[0], c["type"]) for c in changes}
    assert kinds == {
        ("global", "checklist_version"),
        ("unit", "enterprise"),
        ("unit", "inspection"),
        ("user", "inspection"),
    }
    assert {c["data"]["name"] for c in changes if c["type"] == "enterprise"} == {"城关燃气"}
    mine = next(c for c in changes if c["bucket"].startswith("user:"))
    assert mine["id"] == args["id"]
    assert len(mine["data"]["answers"]) == len(args["answers"])
    assert set(reply["cursors"]) == {
        "global",
        f"unit:{world.unit.id}",
        f"user:{world.inspector.id}",
    }
    assert reply["device_last_seq"] == 1


def test_a_pull_with_current_cursors_brings_only_what_is_new(world: World) -> None:
    world.save()
    _, first = everything(world.tablet)
    again, _ = everything(world.tablet, first["cursors"])
    assert again == []
    args = world.save()
    news, _ = everything(world.tablet, first["cursors"])
    assert {c["id"] for c in news} == {args["id"]}


def test_small_pages_bring_every_change_exactly_once(world: World) -> None:
    saved = [world.save()["id"] for _ in range(7)]
    changes, _ = everything(world.tablet, limit=2)
    user_changes = [c["id"] for c in changes if c["bucket"].startswith("user:")]
    assert sorted(user_changes) == sorted(saved)


def test_device_last_seq_tells_which_commands_the_state_includes(world: World) -> None:
    for _ in range(3):
        world.save()
    assert world.tablet.pull().json["device_last_seq"] == 3


def test_a_colleague_sees_the_unit_summary_but_not_the_answers(world: World) -> None:
    world.save()
    colleague = world.tablet_for(make_user(world.session, world.unit))
    world.session.commit()
    changes, _ = everything(colleague)
    inspections = [c for c in changes if c["type"] == "inspection"]
    assert len(inspections) == 1
    assert inspections[0]["bucket"] == f"unit:{world.unit.id}"
    assert "answers" not in inspections[0]["data"]
    assert inspections[0]["data"]["status"] == "draft"


def test_another_units_tablet_sees_none_of_it(world: World) -> None:
    world.save()
    stranger = world.tablet_for(make_user(world.session, world.other_unit))
    world.session.commit()
    changes, _ = everything(stranger)
    assert [c for c in changes if c["type"] == "inspection"] == []
    assert {c["data"]["name"] for c in changes if c["type"] == "enterprise"} == {"别处企业"}


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", None])
def test_a_cursor_the_server_cannot_serve_is_reset_not_advanced(
    world: World, cursor: str | None
) -> None:
    world.save()
    _, first = everything(world.tablet)
    cursors = dict(first["cursors"])
    if cursor is None:  # a valid cursor, but from another database
        from sync import decode_cursor, encode_cursor

        real = decode_cursor(cursors["global"])
        cursor = encode_cursor(type(real)("another-db", real.bucket, real.txid, real.id))
    cursors["global"] = cursor
    reply = world.tablet.pull(cursors).json
    assert reply["reset"] == ["global"]
    assert "global" not in reply["cursors"]
    assert [c for c in reply["changes"] if c["bucket"] == "global"] == []


def test_an_unknown_bucket_is_reset(world: World) -> None:
    reply = world.tablet.pull({"unit:00000000-0000-0000-0000-000000000000": None}).json
    assert reply["reset"] == ["unit:00000000-0000-0000-0000-000000000000"]


def test_a_user_moved_to_another_unit_gets_the_old_bucket_reset(world: World) -> None:
    _, first = everything(world.tablet)
    old_bucket = f"unit:{world.unit.id}"
    admin = make_user(world.session, world.district, Role.admin)
    world.session.commit()
    headers = auth_headers(world.client, admin)
    moved = world.client.patch(
        f"/api/v1/users/{world.inspector.id}",
        headers=headers,
        json={"unit_id": str(world.other_unit.id)},
    )
    assert moved.status_code == 200
    make_enterprise(world.session, world.unit, name="旧单位新企业")
    world.session.commit()
    tablet = world.tablet_for(world.session.get(User, world.inspector.id))
    wait_for_horizon(world.client.application.extensions["anjian"].db.engine)
    reply = tablet.pull(first["cursors"]).json
    assert old_bucket in reply["reset"]
    assert all(c["bucket"] != old_bucket for c in reply["changes"])
    assert {c["data"]["name"] for c in reply["changes"] if c["type"] == "enterprise"} == {
        "别处企业"
    }


def test_pull_needs_the_callers_own_device(world: World) -> None:
    other = world.tablet_for(make_user(world.session, world.unit))
    world.session.commit()
    reply = world.client.post(
        "/api/v1/sync/pull",
        headers=other.headers,
        json={"device_id": world.tablet.device_id, "cursors": {}},
    )
    assert reply.status_code == 404
    assert reply.json["code"] == "sync.unknown_device"


def _unit(session: Session, unit_id: Any) -> Unit:
    unit = session.get(Unit, unit_id)
    assert unit is not None
    return unit

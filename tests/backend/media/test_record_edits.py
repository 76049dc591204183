"""A photo arriving changes an inspection on the server (it stops awaiting media, and gets a new
version so that pull tells the tablets), but it is not an edit: a tablet that saved the
inspection and then uploaded its photos may edit it again from the version it last saved."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from backend.models import Amendment, Inspection
from tests.backend.media.support import World, camera_jpeg, sha


def inspection(world: World, inspection_id: str) -> Inspection:
    (row,) = world.rows(select(Inspection).where(Inspection.id == uuid.UUID(inspection_id)))
    return row


def save_again(world: World, args: dict[str, Any], base_version: int) -> dict[str, Any]:
    reply = world.tablet.push(
        world.tablet.command("inspection.save@1", args, base_version=base_version)
    )
    assert reply.status_code == 200, reply.json
    return dict(reply.json["results"][0])


def test_an_edit_from_before_the_photos_arrived_is_applied(world: World) -> None:
    photo = camera_jpeg()
    args = world.save([photo], signatures=[])
    saved = inspection(world, args["id"]).version
    world.upload(photo)  # the last awaited photo: a new version for pull
    assert inspection(world, args["id"]).version == saved + 1

    args["answers"][0]["note"] = "补充说明"
    result = save_again(world, args, base_version=saved)

    assert result["status"] == "applied", result
    assert result["entity"]["version"] == saved + 2
    row = inspection(world, args["id"])
    assert (row.version, row.awaiting_media) == (saved + 2, [])
    assert world.rows(select(Amendment.id)) == []


def test_an_edit_from_the_version_pull_reported_is_applied_too(world: World) -> None:
    photo = camera_jpeg()
    args = world.save([photo], signatures=[])
    world.upload(photo)
    current = inspection(world, args["id"]).version
    assert save_again(world, args, base_version=current)["status"] == "applied"


def test_an_edit_from_before_another_edit_still_conflicts(world: World) -> None:
    photo = camera_jpeg()
    args = world.save([photo], signatures=[])
    first = inspection(world, args["id"]).version
    assert save_again(world, args, base_version=first)["status"] == "applied"  # another edit
    world.upload(photo)

    result = save_again(world, args, base_version=first)

    assert (result["status"], result["code"]) == ("conflict", "inspection.version_conflict")
    assert [str(a) for a in world.rows(select(Amendment.id))] == [result["entity"]["id"]]
    assert inspection(world, args["id"]).awaiting_media == []
    assert sha(photo) not in inspection(world, args["id"]).awaiting_media

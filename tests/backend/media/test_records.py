"""Records and their photos: an inspection waits for the photos it references, and tablets
learn through pull when the last one arrives."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select

from backend.models import Inspection, InspectionMedia, InspectionPhoto
from tests.backend.media.support import World, camera_jpeg, sha
from tests.sync_support import Tablet, finding, photo_hash


def pulled(tablet: Tablet, cursors: dict[str, Any], expect: int = 0) -> list[dict[str, Any]]:
    """The inspection changes a pull from ``cursors`` (updated in place) brings, pulling again
    for a while until ``expect`` have come: on PostgreSQL a pull serves nothing newer than the
    oldest transaction running on the server, which other clients of a shared server hold."""
    changes: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while True:
        reply = tablet.pull(cursors)
        assert reply.status_code == 200, reply.json
        changes += [c for c in reply.json["changes"] if c["type"] == "inspection"]
        cursors.update(reply.json["cursors"])
        if reply.json["has_more"]:
            continue
        if len(changes) >= expect or time.monotonic() > deadline:
            return changes
        time.sleep(0.1)


def inspection(world: World, inspection_id: str) -> Inspection:
    (row,) = world.rows(select(Inspection).where(Inspection.id == uuid.UUID(inspection_id)))
    return row


def test_an_inspection_pushed_before_its_photos_awaits_them_until_the_last_arrives(
    world: World,
) -> None:
    photos = [camera_jpeg(), camera_jpeg()]
    signature = camera_jpeg()
    args = world.save(
        photos,
        signatures=[{"role": "inspector", "name": "李检查", "sha256": sha(signature)}],
    )
    expected = sorted([sha(p) for p in photos] + [sha(signature)])
    assert inspection(world, args["id"]).awaiting_media == expected
    cursors: dict[str, Any] = {}
    first = pulled(world.tablet, cursors, expect=2)
    assert {c["bucket"].split(":")[0] for c in first} == {"unit", "user"}
    assert all(c["data"]["awaiting_media"] == expected for c in first)
    version = first[0]["version"]

    world.upload(photos[0])
    world.upload(signature)
    row = inspection(world, args["id"])
    assert row.awaiting_media == [sha(photos[1])]  # the database knows at once ...
    assert row.version == version
    assert pulled(world.tablet, cursors) == []  # ... tablets hear when it is complete

    world.upload(photos[1])
    row = inspection(world, args["id"])
    assert row.awaiting_media == []
    assert row.version == version + 1
    changes = pulled(world.tablet, cursors, expect=2)
    assert {(c["bucket"].split(":")[0], c["version"]) for c in changes} == {
        ("unit", version + 1),
        ("user", version + 1),
    }
    assert all(c["data"]["awaiting_media"] == [] for c in changes)
    whole = next(c for c in changes if c["bucket"].startswith("user:"))
    assert sorted(p["sha256"] for p in whole["data"]["photos"]) == sorted(map(sha, photos))


def test_an_inspection_pushed_after_its_photos_does_not_wait(world: World) -> None:
    photos = [camera_jpeg(), camera_jpeg()]
    signature = camera_jpeg()
    for data in (*photos, signature):
        world.upload(data)
    args = world.save(
        photos, signatures=[{"role": "inspector", "name": "李检查", "sha256": sha(signature)}]
    )
    assert inspection(world, args["id"]).awaiting_media == []
    (change,) = [c for c in pulled(world.tablet, {}, 2) if c["bucket"].startswith("user:")]
    assert change["data"]["awaiting_media"] == []


def test_finding_photos_and_signatures_are_awaited_too(world: World) -> None:
    in_finding = photo_hash()
    args = world.save(
        [],
        answers={"confined_space.1": "no"},
        findings=[finding(["confined_space.1"], photos=[in_finding])],
    )
    row = inspection(world, args["id"])
    signature = args["signatures"][0]["sha256"]
    assert row.awaiting_media == sorted([in_finding, signature])
    references = world.rows(select(InspectionMedia.sha256))
    assert sorted(references) == sorted([in_finding, signature])


def test_a_resave_without_a_missing_photo_stops_waiting_for_it(world: World) -> None:
    kept, dropped = camera_jpeg(), camera_jpeg()
    world.upload(kept)
    args = world.save([kept, dropped], signatures=[])
    assert inspection(world, args["id"]).awaiting_media == [sha(dropped)]
    args["photos"] = args["photos"][:1]
    world.session.commit()
    reply = world.tablet.push(world.tablet.command("inspection.save@1", args))
    assert reply.json["results"][0]["status"] == "applied", reply.json
    assert inspection(world, args["id"]).awaiting_media == []


def test_a_photo_uploaded_by_another_unit_is_still_awaited_from_ours(world: World) -> None:
    data = camera_jpeg()
    world.upload(data, world.other_inspector)
    args = world.save([data], signatures=[])
    assert inspection(world, args["id"]).awaiting_media == [sha(data)]
    assert world.declare(data).json["state"] == "awaiting_upload"
    world.upload(data)
    assert inspection(world, args["id"]).awaiting_media == []


def test_a_capture_time_far_from_the_inspection_is_flagged_not_refused(world: World) -> None:
    on_site = camera_jpeg(taken="2026:11:20 09:40:00", offset="+08:00")
    last_year = camera_jpeg(taken="2025:11:20 09:40:00", offset="+08:00")
    no_offset = camera_jpeg(taken="2026:11:20 10:10:00", offset=None)  # read as +08:00
    args = world.save([on_site, last_year], signatures=[])  # 09:00-10:30 +08:00
    for data in (on_site, last_year, no_offset):
        world.upload(data)
    world.save([no_offset], signatures=[])
    gaps = dict(world.tuples(select(InspectionPhoto.sha256, InspectionPhoto.capture_gap_seconds)))
    assert gaps[sha(on_site)] == 0
    assert gaps[sha(last_year)] > 360 * 24 * 3600
    assert gaps[sha(no_offset)] == 0
    info = world.get(f"/api/v1/media/{sha(last_year)}/info").json
    assert info["inspections"] == [
        {"id": args["id"], "capture_gap_seconds": gaps[sha(last_year)], "capture_flagged": True}
    ]
    info = world.get(f"/api/v1/media/{sha(on_site)}/info").json
    assert info["inspections"][0]["capture_flagged"] is False
    assert info["taken_at"] == "2026-11-20T01:40:00+00:00"
    assert info["metadata"]["taken_at_zone"] == "recorded"

"""Garbage collection: uploads no record referenced within the age go; referenced ones never."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from backend.jobs import gc
from backend.models import MediaClaim, MediaCollected, MediaObject, User, utcnow
from backend.services.media import Limits, collection, uploads
from media import content_key
from tests.backend.media.conftest import finish
from tests.backend.media.support import S3_ONLY, World, camera_jpeg, objects, read, sha


def later(world: World, extra: timedelta = timedelta(hours=1)) -> datetime:
    """A moment past the configured age."""
    return utcnow() + timedelta(seconds=world.svc.config.media_gc_age_seconds) + extra


def keys(data: bytes) -> list[str]:
    return sorted(content_key(sha(data), kind) for kind in ("original", "thumbnail", "display"))


def test_an_upload_no_record_references_is_collected_after_the_age(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    assert objects(world.store) == keys(data)
    report = gc.collect(world.svc, now=later(world))
    assert report.collected == 1
    assert objects(world.store) == []
    assert (world.count(MediaObject), world.count(MediaClaim)) == (0, 0)
    assert world.count(MediaCollected) == 1
    assert world.declare(data).json["state"] == "awaiting_upload"


def test_a_referenced_photo_is_never_collected(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    world.save([data])
    report = gc.collect(world.svc, now=later(world, timedelta(days=3650)))
    assert report.collected == 0
    assert objects(world.store) == keys(data)
    assert world.get(f"/api/v1/media/{sha(data)}").status_code in (200, 302)


def test_a_photo_referenced_only_before_its_upload_is_never_collected(world: World) -> None:
    data = camera_jpeg()
    world.save([data])
    world.upload(data)
    assert gc.collect(world.svc, now=later(world)).collected == 0
    assert read(world.store, content_key(sha(data))) == data


def test_an_upload_younger_than_the_age_is_kept(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    assert gc.collect(world.svc).collected == 0
    assert objects(world.store) == keys(data)


def test_an_object_nobody_claimed_is_collected_once_stale(world: World) -> None:
    stale, fresh = camera_jpeg(), camera_jpeg()
    # What an upload that died between storing the bytes and its commit leaves behind.
    world.store.put(content_key(sha(stale)), stale, content_type="image/jpeg")
    assert gc.collect(world.svc).orphans == 0
    assert objects(world.store) == [content_key(sha(stale))]
    assert gc.collect(world.svc, now=later(world)).orphans == 1
    world.store.put(content_key(sha(fresh)), fresh, content_type="image/jpeg")
    assert gc.collect(world.svc).orphans == 0
    assert objects(world.store) == [content_key(sha(fresh))]


def test_an_upload_racing_the_collection_stores_the_bytes_again(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    limits = Limits(max_bytes=world.svc.config.photo_max_bytes, max_pixels=10**8)
    with world.svc.db.session() as session:
        plan = uploads.plan(session, sha(data), len(data), limits)
    assert plan.known  # so this upload will not send the bytes to the store ...
    gc.collect(world.svc, now=later(world))  # ... which the collector deletes meanwhile
    assert objects(world.store) == []
    with world.svc.db.session() as session:
        user = session.get(User, world.inspector.id)
        assert user is not None
        accepted = uploads.upload(session, world.store, user, plan, io.BytesIO(data), limits)
    assert accepted.created
    assert read(world.store, content_key(sha(data))) == data


def test_an_upload_revives_a_photo_being_collected(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    (row,) = world.rows(select(MediaObject))
    with world.svc.db.session() as session:
        cutoff = later(world) - timedelta(seconds=world.svc.config.media_gc_age_seconds)
        assert collection.mark(session, row.id, cutoff, utcnow())
    assert world.declare(data).json["state"] == "awaiting_upload"  # it counts as gone
    reply = world.put(data)
    assert (reply.status_code, reply.json["created"]) == (200, True)
    world.jobs()
    with world.svc.db.session() as session:
        assert not collection.collect(session, world.store, row.id)  # nothing left to do
    (revived,) = world.rows(select(MediaObject))
    assert revived.id != row.id
    assert revived.collecting_since is None
    assert read(world.store, content_key(sha(data))) == data
    assert world.declare(data).json["state"] == "available"


@S3_ONLY
def test_abandoned_direct_uploads_are_removed(world: World) -> None:
    data = camera_jpeg()
    staged = uploads.staging_key(sha(data), world.inspector.id)
    world.store.put(staged, data, content_type="image/jpeg")
    assert gc.collect(world.svc).staging == 0
    assert gc.collect(world.svc, now=utcnow() + timedelta(days=2)).staging == 1
    assert objects(world.store) == []


def test_the_cli_collects(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import cli

    apps: list[Flask] = []
    original = cli.create_app

    def create_app() -> Flask:
        apps.append(original())  # kept, to release its connections afterwards
        return apps[-1]

    monkeypatch.setattr(cli, "create_app", create_app)
    data = camera_jpeg()
    world.upload(data)
    config = world.svc.config
    environment = {
        "DATABASE_URL": world.svc.db.engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "t" * 40,
        "ANJIAN_DATA_DIR": str(config.data_dir),
        "ANJIAN_MEDIA_GC_AGE": "1",
    }
    if config.s3 is not None:
        environment |= {
            "S3_BUCKET": config.s3.bucket,
            "S3_ENDPOINT_URL": config.s3.endpoint_url or "",
            "S3_ACCESS_KEY_ID": config.s3.access_key or "",
            "S3_SECRET_ACCESS_KEY": config.s3.secret_key or "",
            "S3_REGION": config.s3.region or "",
        }
    world.session.execute(  # uploaded a minute ago, older than the 1 s age
        MediaObject.__table__.update().values(last_uploaded_at=utcnow() - timedelta(minutes=1))
    )
    world.session.commit()
    result = CliRunner().invoke(cli.main, ["media", "gc"], env=environment)
    for flask_app in apps:
        finish(flask_app)
    assert result.exit_code == 0, result.output
    assert "Deleted 1 unreferenced photos" in result.output
    assert objects(world.store) == []

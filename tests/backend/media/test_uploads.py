"""Declaring and uploading photos: only real images, verified and stored once, on both stores."""

from __future__ import annotations

import hashlib
import http.client
import io
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from backend.models import MediaClaim, MediaObject, OutboxItem
from media import content_key
from tests.backend.media.support import S3_ONLY, World, camera_jpeg, objects, read, sha
from tests.media.images_support import (
    dms,
    exif,
    heic,
    jpeg,
    marked,
    png_header_only,
    stored_for,
)


def test_a_photo_the_unit_has_not_uploaded_is_awaiting_upload(world: World) -> None:
    data = camera_jpeg()
    reply = world.declare(data)
    assert reply.status_code == 200, reply.json
    assert reply.json["state"] == "awaiting_upload"
    upload = reply.json["upload"]
    assert upload["method"] == "PUT"
    assert upload["url"] == f"/api/v1/media/{sha(data)}"
    assert upload["headers"] == {"Content-Type": "image/jpeg"}
    assert upload["max_bytes"] == world.svc.config.photo_max_bytes
    if world.svc.config.s3 is None:
        assert upload["direct"] is None
    else:
        assert upload["direct"]["method"] == "PUT"
        assert upload["direct"]["complete"] == f"/api/v1/media/{sha(data)}/complete"


def test_an_upload_keeps_the_original_byte_for_byte(world: World) -> None:
    data = camera_jpeg()
    reply = world.put(data)
    assert reply.status_code == 200, reply.json
    assert reply.json["state"] == "available"
    assert reply.json["created"] is True
    assert reply.json["content_type"] == "image/jpeg"
    assert read(world.store, content_key(sha(data))) == data
    assert world.declare(data).json == {"sha256": sha(data), "state": "available", "upload": None}


def test_uploading_the_same_bytes_again_is_a_no_op_that_succeeds(world: World) -> None:
    data = camera_jpeg()
    first = world.put(data)
    again = world.put(data)
    assert again.status_code == 200, again.json
    assert (first.json["created"], again.json["created"]) == (True, False)
    assert world.count(MediaObject) == 1
    assert world.count(MediaClaim) == 1
    assert world.count(OutboxItem) == 1  # the derivatives, once (no record awaits the photo)
    assert read(world.store, content_key(sha(data))) == data


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    [
        ("hash mismatch", None, 422, "media.hash_mismatch"),
        ("truncated JPEG", "truncated", 422, "media.not_an_image"),
        (
            "text file named .jpg",
            b"IMG_0001.jpg is a photo, honestly\n" * 20,
            422,
            "media.not_an_image",
        ),
        ("20000x20000 PNG bomb", png_header_only(20000, 20000), 422, "media.too_many_pixels"),
    ],
)
def test_a_refused_upload_is_stored_nowhere(
    world: World, name: str, body: bytes | str | None, status: int, code: str
) -> None:
    data = camera_jpeg()
    if body is None:  # the bytes of one photo sent as another
        reply = world.put(data, sha256=sha(camera_jpeg()))
    else:
        payload = data[: len(data) // 2] if body == "truncated" else body
        assert isinstance(payload, bytes)
        reply = world.put(payload)
    assert (reply.status_code, reply.json["code"]) == (status, code), (name, reply.json)
    assert reply.json["message"]
    world.jobs()
    assert objects(world.store) == []
    assert (world.count(MediaObject), world.count(MediaClaim), world.count(OutboxItem)) == (0, 0, 0)


def test_a_hash_mismatch_is_reported_even_for_bytes_that_are_no_image(world: World) -> None:
    """The decode check starts before the hash is known; the hash still decides the answer."""
    text = b"IMG_0001.jpg is a photo, honestly\n" * 20
    reply = world.put(text, sha256=sha(camera_jpeg()))
    assert (reply.status_code, reply.json["code"]) == (422, "media.hash_mismatch")
    assert objects(world.store) == []
    assert world.count(MediaObject) == 0


def test_a_body_over_the_size_limit_is_refused_with_413(world: World) -> None:
    data = camera_jpeg(1200, 900)
    world.app.extensions["anjian"].config = world.svc.config.__class__(
        **{**world.svc.config.__dict__, "photo_max_bytes": len(data) - 1}
    )
    reply = world.put(data)
    assert (reply.status_code, reply.json["code"]) == (413, "media.too_large")
    declared = world.declare(data)
    assert (declared.status_code, declared.json["code"]) == (413, "media.too_large")
    assert objects(world.store) == []
    assert world.count(MediaObject) == 0


def test_a_photo_larger_than_the_json_limit_is_accepted(world: World) -> None:
    data = camera_jpeg(3000, 2250, seed=7)
    data += b"\x00" * max(0, world.svc.config.max_body_bytes + 1 - len(data))  # after EOI
    reply = world.put(data)
    assert reply.status_code == 200, reply.json
    assert read(world.store, content_key(sha(data))) == data


def test_a_heic_photo_is_accepted_and_its_derivatives_are_jpeg(world: World) -> None:
    data = heic(marked(800, 600))
    reply = world.put(data)
    assert reply.status_code == 200, reply.json
    assert reply.json["content_type"] == "image/heic"
    world.jobs()
    assert read(world.store, content_key(sha(data))) == data
    (row,) = world.rows(select(MediaObject))
    assert row.derivatives is not None
    assert row.derivatives["display"]["width"] == 800
    assert read(world.store, content_key(sha(data), "thumbnail"))[:3] == b"\xff\xd8\xff"


def test_exif_gps_and_orientation_are_read_and_the_derivative_is_upright(world: World) -> None:
    upright = marked(600, 800)  # portrait, red block top-left
    values = {
        "orientation": 6,
        "taken": "2026:11:20 09:45:10",
        "offset": "+08:00",
        "latitude": ("N", dms(26, 4, 30)),
        "longitude": ("E", dms(119, 18, 0)),
        "make": "HUAWEI",
        "model": "MatePad 11",
    }
    data = jpeg(stored_for(upright, 6), exif=exif(**values))
    reply = world.put(data)
    assert reply.status_code == 200, reply.json
    metadata = reply.json["metadata"]
    assert metadata["orientation"] == 6
    assert (metadata["width"], metadata["height"]) == (800, 600)  # as stored
    assert metadata["taken_at"]["aware"] == "2026-11-20T09:45:10+08:00"
    assert metadata["gps"]["latitude"] == pytest.approx(26.075)
    assert metadata["gps"]["longitude"] == pytest.approx(119.3)
    assert (metadata["make"], metadata["model"]) == ("HUAWEI", "MatePad 11")
    world.jobs()
    display = Image.open(io.BytesIO(read(world.store, content_key(sha(data), "display"))))
    assert display.size == (600, 800)
    assert display.getpixel((10, 10))[0] > 180  # the red corner is top-left again
    assert display.getexif() == {}  # no GPS leaks into what is shown
    assert read(world.store, content_key(sha(data))) == data  # the original keeps its EXIF


@S3_ONLY
def test_a_direct_upload_to_s3_is_checked_when_completed(world: World) -> None:
    data = camera_jpeg()
    direct = world.declare(data).json["upload"]["direct"]
    assert _http_put(direct["url"], data, direct["headers"]) == 200
    assert world.count(MediaObject) == 0  # nothing counts before `complete`
    reply = world.client.post(direct["complete"], headers=world.headers(world.inspector))
    assert reply.status_code == 200, reply.json
    assert reply.json["created"] is True
    world.jobs()
    assert read(world.store, content_key(sha(data))) == data
    assert not [key for key in objects(world.store) if key.startswith("staging/")]


@S3_ONLY
def test_a_direct_upload_of_other_bytes_is_refused_and_removed(world: World) -> None:
    data, other = camera_jpeg(), camera_jpeg()
    direct = world.declare(data).json["upload"]["direct"]
    assert _http_put(direct["url"], other, direct["headers"]) == 200
    reply = world.client.post(direct["complete"], headers=world.headers(world.inspector))
    assert (reply.status_code, reply.json["code"]) == (422, "media.hash_mismatch")
    assert objects(world.store) == []
    assert world.count(MediaObject) == 0


def test_completing_a_direct_upload_that_never_happened_is_a_conflict(world: World) -> None:
    data = camera_jpeg()
    reply = world.client.post(
        f"/api/v1/media/{sha(data)}/complete", headers=world.headers(world.inspector)
    )
    assert (reply.status_code, reply.json["code"]) == (409, "media.upload_missing")


def test_a_malformed_hash_is_refused(world: World) -> None:
    reply = world.put(b"x", sha256="ABC")
    assert (reply.status_code, reply.json["code"]) == (422, "media.invalid_hash")
    declared = world.declare(b"x", sha256=hashlib.sha256(b"x").hexdigest().upper())
    assert (declared.status_code, declared.json["code"]) == (422, "media.invalid_hash")


def _http_put(url: str, data: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("PUT", f"{parts.path}?{parts.query}", body=data, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()

"""Who gets a photo: users who may see a record that references it; a hash reveals nothing."""

from __future__ import annotations

import http.client
from urllib.parse import parse_qs, urlsplit

import pytest

from backend.jobs import outbox as outbox_jobs
from backend.models import User
from tests.backend.media.support import HeldJobs, World, camera_jpeg, sha
from tests.sync_support import Tablet

KINDS = ("", "/thumbnail", "/display", "/info")


def fetch(world: World, path: str, user: User) -> tuple[int, bytes, str]:
    """GET through the API and, for a redirect to the store, from the store (status, bytes,
    content type)."""
    reply = world.get(path, user)
    if reply.status_code != 302:
        return reply.status_code, reply.data, reply.content_type
    assert reply.headers["Cache-Control"] == "no-store"
    location = urlsplit(reply.headers["Location"])
    expires = int(parse_qs(location.query)["X-Amz-Expires"][0])
    assert 0 < expires <= 15 * 60
    connection = http.client.HTTPConnection(location.hostname, location.port, timeout=10)
    try:
        connection.request("GET", f"{location.path}?{location.query}")
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or ""
    finally:
        connection.close()


@pytest.fixture
def evidence(world: World) -> bytes:
    """A photo our unit uploaded and one of our inspections references."""
    data = camera_jpeg()
    world.upload(data)
    world.save([data])
    return data


def test_a_supervisor_of_the_unit_gets_the_original_bytes(world: World, evidence: bytes) -> None:
    status, body, content_type = fetch(world, f"/api/v1/media/{sha(evidence)}", world.supervisor)
    assert (status, body, content_type) == (200, evidence, "image/jpeg")


def test_the_derivatives_are_served_once_made(world: World, evidence: bytes) -> None:
    for kind in ("thumbnail", "display"):
        status, body, content_type = fetch(
            world, f"/api/v1/media/{sha(evidence)}/{kind}", world.supervisor
        )
        assert (status, content_type) == (200, "image/jpeg")
        assert body[:3] == b"\xff\xd8\xff"


def test_an_admin_of_the_unit_above_sees_the_photo(world: World, evidence: bytes) -> None:
    status, body, _ = fetch(world, f"/api/v1/media/{sha(evidence)}", world.admin)
    assert (status, body) == (200, evidence)


@pytest.mark.parametrize("kind", KINDS)
def test_another_units_supervisor_gets_404(world: World, evidence: bytes, kind: str) -> None:
    reply = world.get(f"/api/v1/media/{sha(evidence)}{kind}", world.other_supervisor)
    assert (reply.status_code, reply.json["code"]) == (404, "media.not_found")
    unknown = world.get(f"/api/v1/media/{sha(camera_jpeg())}{kind}", world.other_supervisor)
    assert unknown.json == reply.json | {"message": unknown.json["message"]}


def test_referencing_a_hash_is_not_enough_to_see_the_photo(world: World, evidence: bytes) -> None:
    other_tablet = Tablet(world.client, world.headers(world.other_inspector))
    args = world.save([evidence], tablet=other_tablet, enterprise=world.other_enterprise)
    reply = world.get(f"/api/v1/media/{sha(evidence)}", world.other_supervisor)
    assert (reply.status_code, reply.json["code"]) == (404, "media.not_uploaded")
    declared = world.declare(evidence, world.other_inspector)
    assert declared.json["state"] == "awaiting_upload"
    pending = world.get(f"/api/v1/media/{sha(evidence)}/thumbnail", world.other_supervisor)
    assert (pending.status_code, pending.json["state"]) == (202, "awaiting_upload")
    assert args["id"]


def test_the_uploader_alone_does_not_see_an_unreferenced_photo(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    reply = world.get(f"/api/v1/media/{sha(data)}", world.inspector)
    assert (reply.status_code, reply.json["code"]) == (404, "media.not_found")


def test_a_derivative_not_made_yet_is_202_with_a_documented_body(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = camera_jpeg()
    world.save([data])
    pending = world.get(f"/api/v1/media/{sha(data)}/thumbnail")
    assert pending.status_code == 202
    assert pending.headers["Retry-After"] == "5"
    assert pending.json["code"] == "media.derivative_pending"
    assert pending.json["state"] == "awaiting_upload"
    assert pending.json["message"]
    queue = HeldJobs()
    monkeypatch.setattr(world.svc, "dispatcher", queue)
    assert world.put(data).status_code == 200
    pending = world.get(f"/api/v1/media/{sha(data)}/display")
    assert (pending.status_code, pending.json["state"]) == (202, "processing")
    for item_id in queue.held:
        assert outbox_jobs.run(item_id) == "done"
    assert world.get(f"/api/v1/media/{sha(data)}/display").status_code in (200, 302)


def test_an_inspection_reference_is_not_enough_before_the_upload(world: World) -> None:
    data = camera_jpeg()
    world.save([data])
    reply = world.get(f"/api/v1/media/{sha(data)}")
    assert (reply.status_code, reply.json["code"]) == (404, "media.not_uploaded")


def test_a_malformed_hash_is_simply_not_found(world: World) -> None:
    reply = world.get("/api/v1/media/not-a-hash")
    assert (reply.status_code, reply.json["code"]) == (404, "media.not_found")


def test_an_original_is_a_download_that_is_never_sniffed(world: World, evidence: bytes) -> None:
    reply = world.get(f"/api/v1/media/{sha(evidence)}", world.supervisor)
    if reply.status_code == 302:  # S3: the store is told to answer with the same disposition
        assert "response-content-disposition=attachment" in reply.headers["Location"]
    else:
        assert reply.status_code == 200
        assert reply.headers["Content-Disposition"].startswith("attachment")
        assert reply.headers["X-Content-Type-Options"] == "nosniff"

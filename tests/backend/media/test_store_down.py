"""With the object store unreachable, uploads are refused with 503 and Retry-After and nothing
is recorded; records are still accepted and wait for their photos."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.jobs import runtime
from backend.models import Inspection, MediaClaim, MediaObject, OutboxItem
from tests.backend.media.conftest import build_app, finish, s3_environment
from tests.backend.media.support import World, camera_jpeg, sha
from tests.support.s3 import free_ports


@pytest.fixture
def down_world(
    live_engine: Engine,
    live_session: Session,
    tmp_path: Path,
    store_kind: str,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    if store_kind == "local":
        (tmp_path / "media").write_text("not a directory")  # where the photos should go
        environment = {}
    else:
        (closed_port,) = free_ports(1)  # nothing listens there
        environment = s3_environment(
            request.getfixturevalue("s3_server"), "photos", f"http://127.0.0.1:{closed_port}"
        )
    flask_app: Flask = build_app(live_engine, tmp_path, **environment)
    runtime.bind(flask_app.extensions["anjian"])
    yield World(flask_app, live_session)
    finish(flask_app)


def test_an_upload_gets_503_with_retry_after_and_nothing_is_recorded(down_world: World) -> None:
    data = camera_jpeg()
    reply = down_world.put(data)
    assert (reply.status_code, reply.json["code"]) == (503, "media.store_unavailable")
    assert int(reply.headers["Retry-After"]) > 0
    assert "nothing was kept" in reply.json["message"]
    assert "127.0.0.1" not in reply.json["message"]  # no internals in what clients see
    down_world.jobs()
    for model in (MediaObject, MediaClaim, OutboxItem):
        assert down_world.count(model) == 0


def test_a_push_referencing_photos_still_succeeds_and_awaits_them(down_world: World) -> None:
    data = camera_jpeg()
    assert down_world.put(data).status_code == 503
    args = down_world.save([data], signatures=[])
    (row,) = down_world.rows(select(Inspection).where(Inspection.id == uuid.UUID(args["id"])))
    assert row.awaiting_media == [sha(data)]

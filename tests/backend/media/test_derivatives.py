"""Derivatives are made by the worker from an outbox row: exactly once, even when it dies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.jobs import outbox as outbox_jobs
from backend.models import MediaObject, OutboxItem, utcnow
from backend.services.media import DERIVATIVES
from backend.services.media import derivatives as derivatives_service
from media import content_key
from tests.backend.media.support import HeldJobs, World, camera_jpeg, read, sha


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, nothing is committed."""


def test_an_upload_records_the_derivative_work_in_the_same_transaction(world: World) -> None:
    data = camera_jpeg()
    world.upload(data)
    (item,) = world.rows(select(OutboxItem).where(OutboxItem.kind == DERIVATIVES))
    (row,) = world.rows(select(MediaObject))
    assert item.payload == {"id": row.id}
    assert item.status == "done"
    assert row.derivatives is not None
    assert set(row.derivatives) == {"thumbnail", "display"}
    assert max(row.derivatives["thumbnail"]["width"], row.derivatives["thumbnail"]["height"]) == 320


def test_a_worker_killed_mid_derivative_makes_it_again_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = HeldJobs()
    monkeypatch.setattr(world.svc, "dispatcher", queue)
    data = camera_jpeg(2000, 1500)
    assert world.put(data).status_code == 200
    (item,) = world.rows(select(OutboxItem).where(OutboxItem.kind == DERIVATIVES))

    def killed(*_args: Any, **_kwargs: Any) -> None:
        raise Killed  # after the objects were written, before the row is marked and committed

    with monkeypatch.context() as patch:
        patch.setattr(derivatives_service, "record", killed)
        with pytest.raises(Killed):
            outbox_jobs.run(item.id)
    keys = {kind: content_key(sha(data), kind) for kind in ("thumbnail", "display")}
    written = {kind: read(world.store, key) for kind, key in keys.items()}
    (row,) = world.rows(select(MediaObject))
    assert (row.derived_at, row.derivatives) == (None, None)
    (item,) = world.rows(select(OutboxItem).where(OutboxItem.id == item.id))
    assert (item.status, item.done_at) == ("pending", None)
    assert item.claimed_by is not None  # the dead job's claim holds until its lease runs out
    assert outbox_jobs.run(item.id) == "skipped"

    # The lease runs out (moved into the past rather than waited for); the sweeper re-delivers
    # the row, and the next job takes it back.
    world.session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item.id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    world.session.commit()
    monkeypatch.setattr(world.svc, "dispatcher", queue := HeldJobs())
    assert outbox_jobs.sweep(world.svc) >= 1
    assert item.id in queue.held
    assert outbox_jobs.run(item.id) == "done"
    assert outbox_jobs.run(item.id) == "skipped"
    assert {kind: read(world.store, key) for kind, key in keys.items()} == written
    (row,) = world.rows(select(MediaObject))
    assert row.derived_at is not None
    assert row.derivatives is not None
    assert row.derivatives["display"]["size"] == len(written["display"])
    (item,) = world.rows(select(OutboxItem).where(OutboxItem.id == item.id))
    assert item.status == "done"

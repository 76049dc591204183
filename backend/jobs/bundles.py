"""Outbox work for 佐证 bundles: build one, with no transaction open while it streams."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from backend.models import BundleState
from backend.services.bundles import build

from .handler import Handler, Job


class BundleBusy(Exception):
    """Another worker holds a live claim on the bundle: try again once its lease may lapse."""


def _build(job: Job) -> None:
    """Claim → plan → render → pack → record (backend.services.bundles.build), with the
    bundle row's own short transactions; progress also renews the outbox row's lease.

    A bundle another worker is building keeps this outbox row pending (the error makes rq retry
    it, and the sweeper re-delivers it), so a worker that died mid-build is taken over once its
    lease runs out instead of leaving the bundle "building" for ever."""
    svc = job.services
    bundle_id = uuid.UUID(job.payload["bundle_id"])
    outcome = build.build(svc.db, svc.store, bundle_id, progress=job.progress)
    if outcome.state is BundleState.building:
        raise BundleBusy(f"bundle {bundle_id} is being built by another worker")


def _nothing(_session: Session, _job: Job, _result: Any) -> None:
    """The build recorded the bundle's state itself; the outbox row is marked done."""


BUILD_BUNDLE = Handler(perform=_build, record=_nothing)

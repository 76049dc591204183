"""Outbox work for photos: derivatives of an upload, and records that were waiting for it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from backend.services.media import derivatives, records

from .handler import Handler, Job


def _make(job: Job) -> derivatives.Made | None:
    """Read the original and store its thumbnail and display copy, with no transaction open;
    None if there is nothing to do. A re-run after a crash writes the same bytes again."""
    with job.session() as session:
        todo = derivatives.todo(session, job.payload["id"])
    if todo is None:
        return None
    svc = job.services
    return derivatives.make(svc.store, todo, max_pixels=svc.config.photo_max_pixels)


def _mark(session: Session, job: Job, made: derivatives.Made | None) -> None:
    if made is not None:
        derivatives.record(session, job.payload["id"], made)


def _photo_arrived(session: Session, job: Job, _result: Any) -> None:
    """A unit uploaded a photo: its inspections that were waiting for it stop waiting."""
    records.arrived(session, job.payload["sha256"], uuid.UUID(job.payload["unit_id"]))


MAKE_DERIVATIVES = Handler(perform=_make, record=_mark)
PHOTO_ARRIVED = Handler(record=_photo_arrived)

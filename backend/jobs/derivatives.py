"""Outbox work for photos: derivatives of an upload, and records that were waiting for it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from backend.services.media import ARRIVED, DERIVATIVES, derivatives, records

from .outbox import handler
from .runtime import services


@handler(DERIVATIVES)
def make_derivatives(session: Session, payload: dict[str, Any]) -> None:
    """Thumbnail and display copy of one stored photo; a re-run after a crash writes the same
    bytes again and marks the row once."""
    svc = services()
    derivatives.make(session, svc.store, payload["id"], max_pixels=svc.config.photo_max_pixels)


@handler(ARRIVED)
def photo_arrived(session: Session, payload: dict[str, Any]) -> None:
    """A unit uploaded a photo: its inspections that were waiting for it stop waiting."""
    records.arrived(session, payload["sha256"], uuid.UUID(payload["unit_id"]))

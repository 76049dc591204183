"""Records and their photos: which referenced photos a unit has, what a record still awaits,
and what changes when a photo arrives."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.models import (
    Inspection,
    InspectionMedia,
    InspectionPhoto,
    MediaClaim,
    MediaObject,
    utcnow,
)
from backend.services import changelog

from . import locks


@dataclass(frozen=True)
class Available:
    """The referenced photos a unit has uploaded, with each one's capture time (UTC)."""

    taken_at: dict[str, datetime | None]

    def awaiting(self, hashes: Iterable[str]) -> list[str]:
        return sorted(set(hashes) - self.taken_at.keys())

    def capture_gap(
        self, sha256: str, started: datetime | None, finished: datetime | None
    ) -> int | None:
        return capture_gap(self.taken_at.get(sha256), started, finished)


def available(session: Session, unit_id: uuid.UUID, hashes: Iterable[str]) -> Available:
    """Which of ``hashes`` the unit has uploaded. Waits first for uploads of them in flight (see
    ``locks``), so a record written now and a photo arriving now never miss each other."""
    wanted = sorted(set(hashes))
    if not wanted:
        return Available({})
    locks.shared(session, wanted)
    rows = session.execute(
        select(MediaObject.sha256, MediaObject.taken_at)
        .join(MediaClaim, MediaClaim.sha256 == MediaObject.sha256)
        .where(
            MediaClaim.unit_id == unit_id,
            MediaObject.sha256.in_(wanted),
            MediaObject.collecting_since.is_(None),
        )
    )
    return Available({r.sha256: r.taken_at for r in rows})


def capture_gap(
    taken_at: datetime | None, started: datetime | None, finished: datetime | None
) -> int | None:
    """Seconds between a photo's capture time and the inspection's started..finished span
    (0 inside it); None when either is unknown."""
    start, end = started or finished, finished or started
    if taken_at is None or start is None or end is None:
        return None
    start, end = min(start, end), max(start, end)
    if taken_at < start:
        return int((start - taken_at).total_seconds())
    if taken_at > end:
        return int((taken_at - end).total_seconds())
    return 0


def reference_rows(inspection_id: uuid.UUID, hashes: Iterable[str]) -> list[dict[str, Any]]:
    return [{"inspection_id": inspection_id, "sha256": h} for h in sorted(set(hashes))]


def arrived(
    session: Session, sha256: str, unit_id: uuid.UUID, *, now: datetime | None = None
) -> int:
    """The unit now has photo ``sha256``: update its inspections that reference it. An
    inspection whose last awaited photo this was gets a new version and a change row, so pull
    tells the tablets; returns how many did."""
    now = now or utcnow()
    referencing = select(InspectionMedia.inspection_id).where(InspectionMedia.sha256 == sha256)
    query = (
        select(Inspection)
        .where(Inspection.unit_id == unit_id, Inspection.id.in_(referencing))
        .order_by(Inspection.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # a push of the same inspection waits, and vice versa
    taken_at = session.scalar(select(MediaObject.taken_at).where(MediaObject.sha256 == sha256))
    completed = 0
    for row in session.scalars(query):
        session.execute(
            update(InspectionPhoto)
            .where(InspectionPhoto.inspection_id == row.id, InspectionPhoto.sha256 == sha256)
            .values(capture_gap_seconds=capture_gap(taken_at, row.started_at, row.finished_at))
        )
        completed += _refresh_awaiting(session, row, now)
    return completed


def _refresh_awaiting(session: Session, row: Inspection, now: datetime) -> bool:
    refs = list(
        session.scalars(
            select(InspectionMedia.sha256).where(InspectionMedia.inspection_id == row.id)
        )
    )
    awaiting = available(session, row.unit_id, refs).awaiting(refs)
    if awaiting == list(row.awaiting_media):
        return False
    row.awaiting_media = awaiting
    if awaiting:
        return False  # still waiting: the tablet learns when the last photo is in
    row.version += 1
    row.updated_at = now
    session.flush()
    changelog.record(session, changelog.of_stored_inspection(session, row, awaiting_media=awaiting))
    return True

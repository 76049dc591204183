"""Who may see a photo, and how its bytes reach them.

A user may see a photo when they may see a record that references it (an inspection, an
enforcement action or an activity of their unit; an admin: of the units below too) and that
record's unit has uploaded the bytes. Anyone else gets the same "not found" as for a hash
nobody ever uploaded: a hash reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, union
from sqlalchemy.orm import Session

from backend.models import (
    Inspection,
    InspectionMedia,
    InspectionPhoto,
    MediaClaim,
    MediaObject,
    Record,
    RecordMedia,
    User,
)
from backend.services import scope
from media import InvalidHash, ObjectStore, content_key, validate_sha256

from .errors import MediaNotFound, MediaNotUploaded

PRESIGNED_SECONDS = 600  # a download link works for 10 minutes
KINDS = ("thumbnail", "display")


@dataclass(frozen=True)
class Download:
    """How to deliver one object: a presigned URL to redirect to, or a key to stream."""

    key: str
    content_type: str
    size: int | None
    url: str | None


def find(session: Session, user: User, sha256: str) -> MediaObject | None:
    """The photo if the user may see it; ``None`` if a record they may see references it but it
    has not been uploaded. ``MediaNotFound`` otherwise."""
    try:
        validate_sha256(sha256)
    except InvalidHash:
        raise MediaNotFound(sha256[:80]) from None
    referencing = union(
        select(Inspection.unit_id)
        .join(InspectionMedia, InspectionMedia.inspection_id == Inspection.id)
        .where(InspectionMedia.sha256 == sha256, scope.unit_filter(user, Inspection.unit_id)),
        # Photos of enforcement actions and activities (督导检查, 宣讲 …) likewise.
        select(Record.unit_id)
        .join(RecordMedia, RecordMedia.record_id == Record.id)
        .where(
            RecordMedia.sha256 == sha256,
            RecordMedia.role == "photo",
            scope.unit_filter(user, Record.unit_id),
        ),
    ).subquery()
    visible_units = select(referencing.c.unit_id)
    if not session.scalar(select(exists(visible_units))):
        raise MediaNotFound(sha256)
    claimed = exists(
        select(MediaClaim.id).where(
            MediaClaim.sha256 == sha256, MediaClaim.unit_id.in_(visible_units)
        )
    )
    return session.scalars(
        select(MediaObject).where(
            MediaObject.sha256 == sha256, MediaObject.collecting_since.is_(None), claimed
        )
    ).one_or_none()


def original(session: Session, store: ObjectStore, user: User, sha256: str) -> Download:
    row = find(session, user, sha256)
    if row is None:
        raise MediaNotUploaded(sha256)
    key = content_key(sha256)
    # An original is evidence to save, never rendered in a browser tab: served as a download.
    return Download(key, row.content_type, row.size, _url(store, key, filename=sha256))


def derivative(
    session: Session, store: ObjectStore, user: User, sha256: str, kind: str
) -> Download | str:
    """The derivative, or why there is none yet: ``"awaiting_upload"`` or ``"processing"``."""
    row = find(session, user, sha256)
    if row is None:
        return "awaiting_upload"
    made = (row.derivatives or {}).get(kind)
    if row.derived_at is None or made is None:
        return "processing"
    key = content_key(sha256, kind)
    return Download(key, "image/jpeg", made.get("size"), _url(store, key))


def _url(store: ObjectStore, key: str, *, filename: str | None = None) -> str | None:
    return store.presigned_get(key, expires_in=PRESIGNED_SECONDS, filename=filename)


def describe(session: Session, user: User, sha256: str, tolerance_seconds: int) -> dict[str, Any]:
    """The photo's metadata, and each inspection the user may see that shows it, with how far
    the capture time lies from the inspection (flagged beyond the tolerance)."""
    row = find(session, user, sha256)
    if row is None:
        raise MediaNotUploaded(sha256)
    photos = session.execute(
        select(InspectionPhoto.inspection_id, InspectionPhoto.capture_gap_seconds)
        .join(Inspection, Inspection.id == InspectionPhoto.inspection_id)
        .where(InspectionPhoto.sha256 == sha256, scope.unit_filter(user, Inspection.unit_id))
        .order_by(InspectionPhoto.inspection_id)
    )
    return {
        "sha256": row.sha256,
        "size": row.size,
        "content_type": row.content_type,
        "width": row.width,
        "height": row.height,
        "orientation": row.orientation,
        "taken_at": row.taken_at,
        "metadata": row.info,
        "uploaded_at": row.uploaded_at,
        "derivatives": {kind: kind in (row.derivatives or {}) for kind in KINDS},
        "inspections": [
            {
                "id": p.inspection_id,
                "capture_gap_seconds": p.capture_gap_seconds,
                "capture_flagged": (p.capture_gap_seconds or 0) > tolerance_seconds,
            }
            for p in photos
        ],
    }

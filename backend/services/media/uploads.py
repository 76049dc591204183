"""Declaring and uploading photos: upload first, claim later.

The original reaches the object store before the database hears of it; a row in
``media_objects`` therefore always means the bytes are there. An upload that dies in between
leaves an object nobody claimed, which garbage collection removes. The unit of the uploader
claims the photo: only then does it count for the unit's records (knowing a hash is not enough).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, Literal

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from backend.errors import DomainError
from backend.models import (
    Inspection,
    InspectionMedia,
    MediaClaim,
    MediaCollected,
    MediaObject,
    User,
    utcnow,
)
from backend.services import outbox
from media import (
    MediaError,
    ObjectStore,
    StoreError,
    TooLarge,
    content_key,
    validate_key,
    validate_sha256,
)
from media.images.formats import sniff

from . import locks
from .errors import UploadMissing
from .receiving import Limits, Received, Spooled, spooled

log = logging.getLogger(__name__)
_SNIFF_BYTES = 4096
# Sends originals to the store while the request thread checks them (threads start lazily).
_STORING = ThreadPoolExecutor(max_workers=16, thread_name_prefix="anjian-store")
DERIVATIVES = "media.derivatives"
ARRIVED = "media.arrived"
DIRECT_UPLOAD_SECONDS = 3600
# Clocks of API and worker machines differ a little; an upload is treated as racing a
# collection that finished up to this long before it began.
CLOCK_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Declared:
    sha256: str
    state: Literal["available", "awaiting_upload"]
    direct_url: str | None = None  # a presigned PUT, when the store takes uploads directly


@dataclass(frozen=True)
class Plan:
    """What is known before the body is read: the hash, and whether the bytes are stored."""

    sha256: str
    known: bool
    started: datetime


@dataclass
class Accepted:
    sha256: str
    size: int
    content_type: str
    created: bool  # the server did not hold these bytes before
    metadata: dict[str, Any]
    state: str = "available"
    outbox_ids: list[int] = field(default_factory=list)
    discard: list[str] = field(default_factory=list)  # object keys to delete after the commit


def staging_key(sha256: str, user_id: uuid.UUID) -> str:
    """Where a direct upload lands before it is checked: per user, so nobody else's bytes can
    ever take its place, and never under the content key of verified originals."""
    return validate_key(f"staging/{validate_sha256(sha256)}/{user_id}")


def declare(
    session: Session,
    store: ObjectStore,
    user: User,
    sha256: str,
    size: int,
    content_type: str,
    limits: Limits,
) -> Declared:
    """Does the server need these bytes from this user? Only if their unit has not uploaded
    them: even bytes the server holds must be sent once by each unit that uses them."""
    validate_sha256(sha256)
    if size > limits.max_bytes:
        raise TooLarge(size, limits.max_bytes)
    if _claimed(session, sha256, user.unit_id):
        return Declared(sha256, "available")
    direct = store.presigned_put(
        staging_key(sha256, user.id), expires_in=DIRECT_UPLOAD_SECONDS, content_type=content_type
    )
    return Declared(sha256, "awaiting_upload", direct)


def plan(session: Session, sha256: str, length: int | None, limits: Limits) -> Plan:
    """Check what can be checked before reading the body."""
    validate_sha256(sha256)
    if length is not None and length > limits.max_bytes:
        raise TooLarge(length, limits.max_bytes)
    return Plan(sha256, known=_live(session, sha256) is not None, started=utcnow())


def upload(
    session: Session,
    store: ObjectStore,
    user: User,
    plan: Plan,
    stream: IO[bytes],
    limits: Limits,
) -> Accepted:
    """Receive the bytes, check them and claim them for the user's unit. When the server
    lacks them, the original goes to the store meanwhile: decoding the whole photo and sending
    it take about as long each, so the send costs little extra time. The rows commit only
    after the bytes are stored (upload first, claim later).
    Refused bytes are kept nowhere: what was stored while they were checked is deleted first.
    """
    with spooled(stream, plan.sha256, limits) as spool:
        storing = None if plan.known else _start_storing(store, spool)
        try:
            photo = Received(spool, spool.inspect(limits))
        except MediaError:
            if storing is not None:
                _undo(store, storing, spool.sha256)
            raise
        accepted = _record(session, store, user, photo, storing=storing, started=plan.started)
        if storing is not None:
            storing.result()  # StoreUnavailable: the rows are rolled back, nothing is recorded
        return accepted


def _start_storing(store: ObjectStore, spool: Spooled) -> Future[None]:
    with spool.open() as head:
        content_type = sniff(head.read(_SNIFF_BYTES))  # not an image at all: nothing is sent
    return _STORING.submit(_put, store, spool, content_type)


def _undo(store: ObjectStore, storing: Future[None], sha256: str) -> None:
    """Delete the original of refused bytes. Bytes whose hash matched can only ever be these
    bytes, which no photo row can hold, so this never removes anyone else's photo."""
    try:
        storing.result()  # wait: a put still running must not land after the delete
    except Exception:
        return  # nothing stored (a failed put never leaves a partial object)
    try:
        store.delete(content_key(sha256))
    except StoreError as exc:  # unclaimed, so garbage collection removes it later
        log.warning("could not delete refused photo %s: %s", sha256, exc)


def complete(
    session: Session, store: ObjectStore, user: User, plan: Plan, limits: Limits
) -> Accepted:
    """Check and claim what the user uploaded to their direct-upload URL, like an API upload;
    the staged object is removed either way."""
    staged = staging_key(plan.sha256, user.id)
    size = store.size(staged)
    if size is None:
        raise UploadMissing(plan.sha256)
    try:
        if size > limits.max_bytes:
            raise TooLarge(size, limits.max_bytes)
        with closing(store.open(staged)) as stream:
            accepted = upload(session, store, user, plan, stream, limits)
    except (MediaError, DomainError):
        store.delete(staged)
        raise
    accepted.discard.append(staged)
    return accepted


def discard(store: ObjectStore, keys: list[str]) -> Callable[[], None]:
    """Deleting objects after the commit; a failure leaves them for garbage collection."""

    def run() -> None:
        for key in keys:
            try:
                store.delete(key)
            except StoreError as exc:  # the collector removes stale staging objects later
                log.warning("could not delete %s after an upload: %s", key, exc)

    return run


def _put(store: ObjectStore, spool: Spooled, content_type: str) -> None:
    with spool.open() as stream:  # the S3 client closes it too; closing twice is harmless
        store.put(content_key(spool.sha256), stream, content_type=content_type)


def _record(
    session: Session,
    store: ObjectStore,
    user: User,
    photo: Received,
    *,
    storing: Future[None] | None,
    started: datetime,
) -> Accepted:
    locks.exclusive(session, photo.sha256)
    row = session.scalars(
        select(MediaObject).where(MediaObject.sha256 == photo.sha256)
    ).one_or_none()
    created, ids = row is None or row.collecting_since is not None, []
    if created:
        again = storing is None or row is not None or _collected_since(session, photo, started)
        if row is not None:  # being collected: its objects may be gone already
            session.execute(delete(MediaObject).where(MediaObject.id == row.id))
            session.expunge(row)
        if again:  # rare, and under the lock, so a collection cannot interleave
            if storing is not None:
                storing.result()
            _put(store, photo.spooled, photo.info.content_type)
        row = _new_row(session, user, photo)
        ids.append(outbox.add(session, DERIVATIVES, f"{DERIVATIVES}:{row.id}", {"id": row.id}).id)
    assert row is not None
    row.last_uploaded_at = utcnow()
    ids += _claim(session, user, photo.sha256)
    return Accepted(
        photo.sha256, row.size, row.content_type, created, dict(row.info), outbox_ids=ids
    )


def _collected_since(session: Session, photo: Received, started: datetime) -> bool:
    """Did garbage collection delete these bytes while this upload was under way?"""
    collected = session.get(MediaCollected, photo.sha256)
    return collected is not None and collected.collected_at >= started - CLOCK_MARGIN


def _new_row(session: Session, user: User, photo: Received) -> MediaObject:
    info = photo.info
    row = MediaObject(
        sha256=photo.sha256,
        size=photo.size,
        content_type=info.content_type,
        width=info.width,
        height=info.height,
        orientation=info.orientation,
        taken_at=photo.taken_at,
        info=photo.metadata(),
        uploaded_by=user.id,
    )
    session.add(row)
    session.flush()
    return row


def _claim(session: Session, user: User, sha256: str) -> list[int]:
    """The unit now holds the photo; its records that reference it stop waiting (a job)."""
    if _claimed(session, sha256, user.unit_id):
        return []
    claim = MediaClaim(sha256=sha256, unit_id=user.unit_id, user_id=user.id)
    session.add(claim)
    session.flush()
    if not _referenced(session, sha256, user.unit_id):
        return []  # nothing waits; a record pushed later finds the claim (see locks)
    payload = {"sha256": sha256, "unit_id": str(user.unit_id)}
    return [outbox.add(session, ARRIVED, f"{ARRIVED}:{claim.id}", payload).id]


def _referenced(session: Session, sha256: str, unit_id: uuid.UUID) -> bool:
    referencing = (
        select(InspectionMedia.inspection_id)
        .join(Inspection, Inspection.id == InspectionMedia.inspection_id)
        .where(InspectionMedia.sha256 == sha256, Inspection.unit_id == unit_id)
    )
    return bool(session.scalar(select(exists(referencing))))


def _live(session: Session, sha256: str) -> MediaObject | None:
    return session.scalars(
        select(MediaObject).where(
            MediaObject.sha256 == sha256, MediaObject.collecting_since.is_(None)
        )
    ).one_or_none()


def _claimed(session: Session, sha256: str, unit_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(MediaClaim.id)
            .join(MediaObject, MediaObject.sha256 == MediaClaim.sha256)
            .where(
                MediaClaim.sha256 == sha256,
                MediaClaim.unit_id == unit_id,
                MediaObject.collecting_since.is_(None),
            )
        )
        is not None
    )

"""Declaring and uploading photos: upload first, claim later.

The original reaches the object store before the database hears of it; a row in
``media_objects`` therefore always means the bytes are there. An upload that dies in between
leaves an object nobody claimed, which garbage collection removes. The unit of the uploader
claims the photo: only then does it count for the unit's records (knowing a hash is not enough).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
    OutboxItem,
    User,
    utcnow,
)
from backend.services import outbox
from media import (
    ImageInfo,
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
from .receiving import Body, Limits, Received, check, receive, verified

log = logging.getLogger(__name__)
# Sends originals to the store while they are checked (threads start lazily).
_STORING = ThreadPoolExecutor(max_workers=16, thread_name_prefix="anjian-store")
# Decodes uploads in full while the request thread reads the database. The check is pure CPU,
# so more checks at once than cores would only take turns.
_CHECKING = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="anjian-check")
DERIVATIVES = outbox.JobKind.media_derivatives
ARRIVED = outbox.JobKind.media_arrived
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
    length: int | None = None  # the declared Content-Length, if any


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
    return Plan(sha256, known=_live(session, sha256), started=utcnow(), length=length)


def upload(
    session: Session,
    store: ObjectStore,
    user: User,
    plan: Plan,
    stream: IO[bytes],
    limits: Limits,
) -> Accepted:
    """Receive the bytes, check them and claim them for the user's unit.

    Once the bytes are in, the full decode check starts (in a thread: Pillow releases the GIL
    while it decodes; it stores nothing, so it need not wait for the hash). Once the hash
    matches, the put of the original starts (when the server lacks it), and the reads under the
    photo's lock that do not need the check's verdict run meanwhile. The rows are written once
    the check passed and commit only after the put finished (upload first, claim later).
    Refused bytes are kept nowhere: what was stored while they were checked is deleted first,
    and the rolled-back transaction leaves no rows.
    """
    data = receive(stream, limits, plan.length)
    checking = _CHECKING.submit(check, data, limits)
    try:
        body = verified(data, plan.sha256)
        content_type = sniff(data)  # not an image at all: nothing is sent
    except Exception:
        _settle(checking)
        raise
    storing = None if plan.known else _STORING.submit(_put, store, body, content_type)
    try:
        if _read_while_checking(session):
            standing = _standing(session, user, body.sha256, storing=storing, started=plan.started)
            photo = Received(body, checking.result())
        else:
            photo = Received(body, checking.result())
            standing = _standing(session, user, body.sha256, storing=storing, started=plan.started)
    except MediaError:
        if storing is not None:
            _undo(store, storing, body.sha256)
        raise
    accepted = _record(session, store, user, photo, standing, storing=storing)
    if storing is not None:
        storing.result()  # StoreUnavailable: the rows are rolled back, nothing is recorded
    return accepted


def _settle(checking: Future[ImageInfo]) -> None:
    """A refused upload leaves no work behind: its check is called off, or waited for."""
    if not checking.cancel():
        wait([checking])


def _read_while_checking(session: Session) -> bool:
    """Whether the reads under the photo's lock may run while the check does. On PostgreSQL
    they hold only that photo's advisory lock. On SQLite a transaction holds the database's one
    write lock from its first statement, so there they wait until the check has passed."""
    return session.get_bind().dialect.name == "postgresql"


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


def _put(store: ObjectStore, body: Body, content_type: str) -> None:
    """The original, with the hash it was verified against: the store checks the bytes it
    receives against it (a transfer that altered them fails) instead of hashing them again."""
    store.put(content_key(body.sha256), body.data, content_type=content_type, sha256=body.sha256)


@dataclass(frozen=True)
class _Standing:
    """Where the photo stands, read under its lock: what the upload has to write."""

    live: MediaObject | None  # the row of the stored photo, unless it is absent or going
    going: MediaObject | None  # a row being collected: replaced by a new generation
    store_again: bool  # the original must be put again, under the lock
    claimed: bool  # the user's unit has uploaded the photo before
    referenced: bool  # a record of the unit references it (asked only while unclaimed)


def _standing(
    session: Session, user: User, sha256: str, *, storing: Future[None] | None, started: datetime
) -> _Standing:
    """Take the photo's lock (held to the commit) and read what ``_record`` needs."""
    locks.exclusive(session, sha256)
    row = session.scalars(select(MediaObject).where(MediaObject.sha256 == sha256)).one_or_none()
    if row is not None and row.collecting_since is None:
        claimed = _claimed(session, sha256, user.unit_id)
        referenced = not claimed and _referenced(session, sha256, user.unit_id)
        return _Standing(row, None, store_again=False, claimed=claimed, referenced=referenced)
    # Rare, and under the lock, so a collection cannot interleave: the bytes were not known
    # when the upload began, a collection is deleting them, or one deleted them meanwhile.
    again = storing is None or row is not None or _collected_since(session, sha256, started)
    referenced = _referenced(session, sha256, user.unit_id)
    return _Standing(None, row, store_again=again, claimed=False, referenced=referenced)


def _record(
    session: Session,
    store: ObjectStore,
    user: User,
    photo: Received,
    standing: _Standing,
    *,
    storing: Future[None] | None,
) -> Accepted:
    """Write what the upload changes in few statements: the new row, then the unit's claim
    with the derivatives' outbox row (one flush), then an arrival job if records wait."""
    row, created = standing.live, standing.live is None
    pending: list[int] = []  # outbox rows this upload made, delivered at the commit
    derive: OutboxItem | None = None
    if row is None:
        if standing.going is not None:  # its objects may be gone already; its claims go too
            session.execute(delete(MediaObject).where(MediaObject.id == standing.going.id))
            session.expunge(standing.going)
        if standing.store_again:
            if storing is not None:
                storing.result()
            _put(store, photo.body, photo.info.content_type)
        row = _new_row(session, user, photo)
        session.flush()  # the id; claims refer to the row, and the unit of work cannot tell
        # A new generation's id was never used before (see MediaObject), so no outbox row can
        # have this key yet: it is flushed with the claim below instead of by outbox.add.
        derive = OutboxItem(
            kind=str(DERIVATIVES),
            key=f"{DERIVATIVES}:{row.id}",
            payload={"id": row.id},
            enqueued_at=utcnow(),  # handed to the queue right after the commit
        )
        session.add(derive)
    else:
        row.last_uploaded_at = utcnow()
    claim = None
    if not standing.claimed:  # the unit now holds the photo
        claim = MediaClaim(sha256=photo.sha256, unit_id=user.unit_id, user_id=user.id)
        session.add(claim)
    session.flush()
    if derive is not None:
        pending.append(derive.id)
        outbox.created(session, derive.id)
    if claim is not None and standing.referenced:  # its records stop waiting (a job)
        payload = {"sha256": photo.sha256, "unit_id": str(user.unit_id)}
        pending.append(outbox.add(session, ARRIVED, f"{ARRIVED}:{claim.id}", payload))
    return Accepted(
        photo.sha256,
        row.size,
        row.content_type,
        created,
        dict(row.info),
        outbox_ids=pending,
    )


def _collected_since(session: Session, sha256: str, started: datetime) -> bool:
    """Did garbage collection delete these bytes while this upload was under way?"""
    collected = session.get(MediaCollected, sha256)
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
    return row


def _referenced(session: Session, sha256: str, unit_id: uuid.UUID) -> bool:
    referencing = (
        select(InspectionMedia.inspection_id)
        .join(Inspection, Inspection.id == InspectionMedia.inspection_id)
        .where(InspectionMedia.sha256 == sha256, Inspection.unit_id == unit_id)
    )
    return bool(session.scalar(select(exists(referencing))))


def _live(session: Session, sha256: str) -> bool:
    """Whether the server holds these bytes (its row is live); only the id is read."""
    return (
        session.scalar(
            select(MediaObject.id).where(
                MediaObject.sha256 == sha256, MediaObject.collecting_since.is_(None)
            )
        )
        is not None
    )


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

"""Garbage collection: photos no record references, and objects nobody ever claimed.

A photo is collected when no record references it and no unit has uploaded it within the
configured age. It goes in two steps, each in its own transaction under the photo's lock:
first it is marked (from then on it counts as absent everywhere), then its objects and its
row are deleted. A failure between the two leaves a marked row, never a live row whose bytes
are gone; the next run finishes the job. Deleting objects is the one store call made inside a
transaction here, on purpose: holding the photo's lock while they go is what keeps an upload of
the same bytes, racing the collection, from claiming objects that are being deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from backend.models import InspectionMedia, MediaCollected, MediaObject, utcnow
from media import ObjectStore, content_key
from media.keys import ORIGINAL

from . import access, locks

KINDS = (ORIGINAL, *access.KINDS)
PREFIXES = ("originals/", "derivatives/")


def _unreferenced() -> ColumnElement[bool]:
    referencing = select(InspectionMedia.sha256).where(InspectionMedia.sha256 == MediaObject.sha256)
    return ~exists(referencing)


def candidates(session: Session, cutoff: datetime, *, limit: int = 1000) -> list[int]:
    """Live photos no record references, last uploaded before ``cutoff``."""
    return list(
        session.scalars(
            select(MediaObject.id)
            .where(
                MediaObject.collecting_since.is_(None),
                MediaObject.last_uploaded_at < cutoff,
                _unreferenced(),
            )
            .order_by(MediaObject.id)
            .limit(limit)
        )
    )


def marked(session: Session, *, limit: int = 1000) -> list[int]:
    return list(
        session.scalars(
            select(MediaObject.id)
            .where(MediaObject.collecting_since.is_not(None))
            .order_by(MediaObject.id)
            .limit(limit)
        )
    )


def mark(session: Session, media_id: int, cutoff: datetime, now: datetime) -> bool:
    """Step 1: if the photo is still unreferenced and stale, mark it as being collected."""
    row = _locked(session, media_id)
    if row is None or row.collecting_since is not None or row.last_uploaded_at >= cutoff:
        return False
    if session.scalar(select(exists().where(InspectionMedia.sha256 == row.sha256))):
        return False
    row.collecting_since = now
    return True


def collect(session: Session, store: ObjectStore, media_id: int) -> bool:
    """Step 2: delete a marked photo's objects, then its row (its claims go with it)."""
    row = _locked(session, media_id)
    if row is None or row.collecting_since is None:
        return False  # an upload revived it meanwhile
    for kind in reversed(KINDS):  # the original last
        store.delete(content_key(row.sha256, kind))
    session.execute(delete(MediaObject).where(MediaObject.id == media_id))
    _tombstone(session, row.sha256)
    return True


def orphan(session: Session, store: ObjectStore, key: str, sha256: str) -> bool:
    """Delete an object no row claims (an upload that died before its commit)."""
    locks.exclusive(session, sha256)
    if session.scalar(select(exists().where(MediaObject.sha256 == sha256))):
        return False
    store.delete(key)
    _tombstone(session, sha256)
    return True


def stored_keys(store: ObjectStore, cutoff: datetime) -> Iterator[tuple[str, str]]:
    """``(key, sha256)`` of originals and derivatives last written before ``cutoff``."""
    for prefix in PREFIXES:
        for key, modified in store.iter_keys(prefix):
            sha256 = key.rsplit("/", 1)[-1].split(".", 1)[0]
            if modified < cutoff and len(sha256) == 64:
                yield key, sha256


def rowless(session: Session, hashes: list[str]) -> set[str]:
    """Which of ``hashes`` have no row at all (live or being collected)."""
    known = session.scalars(select(MediaObject.sha256).where(MediaObject.sha256.in_(hashes)))
    return set(hashes) - set(known)


def _locked(session: Session, media_id: int) -> MediaObject | None:
    sha256 = session.scalar(select(MediaObject.sha256).where(MediaObject.id == media_id))
    if sha256 is None:
        return None
    locks.exclusive(session, sha256)
    return session.scalars(
        select(MediaObject)
        .where(MediaObject.id == media_id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _tombstone(session: Session, sha256: str) -> None:
    """Remember when the bytes went (after deleting them), for uploads racing this."""
    tombstone = session.get(MediaCollected, sha256)
    if tombstone is None:
        session.add(MediaCollected(sha256=sha256, collected_at=utcnow()))
    else:
        tombstone.collected_at = utcnow()
    session.flush()

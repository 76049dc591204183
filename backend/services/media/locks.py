"""Serialising the moments a photo becomes available or goes away with the records that
reference it.

A push that references a photo and an upload of it may commit at the same moment; each must
see the other, or the record would wait for a photo it already has. On PostgreSQL both take a
transaction-level advisory lock per hash: uploads and garbage collection exclusively, record
writes shared (many pushes at once never wait for one another). On SQLite every write
transaction already runs alone (BEGIN IMMEDIATE), so there is nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

_SIGN = 1 << 63


def key(sha256: str) -> int:
    """A signed 64-bit lock key from the hash's first 16 hex digits (collisions only make two
    photos wait for each other)."""
    value = int(sha256[:16], 16)
    return value - (1 << 64) if value >= _SIGN else value


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def exclusive(session: Session, sha256: str) -> None:
    """Hold the photo's lock until the transaction ends: uploads and collection."""
    if _postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key(sha256)})


def shared(session: Session, hashes: Iterable[str]) -> None:
    """Wait for uploads and collection of these photos in flight; then hold them off until the
    transaction ends. Keys in order, so two writers never wait on each other in a cycle."""
    keys = sorted({key(h) for h in hashes})
    if keys and _postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock_shared(k) FROM unnest(CAST(:keys AS bigint[])) k"),
            {"keys": keys},
        )

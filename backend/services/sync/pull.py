"""POST /sync/pull: the changes after each bucket's cursor, never skipping a late commit.

On PostgreSQL the pull runs in one REPEATABLE READ snapshot and serves only changes written by
transactions older than the oldest one of this database still running, in (txid, id) order:
a transaction that began earlier but commits later can then never land behind a cursor. On
SQLite, where one writer at a time commits in id order, the id alone is enough.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from backend.models import Change, User
from backend.services import changelog
from sync import Cursor, CursorInvalid, decode_cursor, encode_cursor

from . import devices

NO_HORIZON = 2**62


@dataclass
class PullResult:
    changes: list[dict[str, Any]] = field(default_factory=list)
    cursors: dict[str, str | None] = field(default_factory=dict)
    has_more: bool = False
    reset: list[str] = field(default_factory=list)
    device_last_seq: int = 0


def pull(
    session: Session,
    user: User,
    device_id: uuid.UUID,
    cursors: dict[str, str | None],
    limit: int,
) -> PullResult:
    device = devices.own_device(session, user, device_id, lock=False)
    result = PullResult(device_last_seq=device.last_seq)
    database = changelog.database_id(session)
    allowed = changelog.buckets_of(user)
    result.reset = sorted(b for b in cursors if b not in allowed)
    horizon = _horizon(session)
    for bucket in allowed:
        start = _start(database, bucket, cursors.get(bucket))
        if start is None:
            result.reset.append(bucket)
            continue
        rows, more = _read(session, bucket, start, horizon, limit - len(result.changes))
        result.changes += [_change(r) for r in rows]
        last = rows[-1] if rows else None
        position = Cursor(database, bucket, last.txid, last.id) if last else start
        result.cursors[bucket] = encode_cursor(position)
        result.has_more = result.has_more or more
    result.changes = _latest_only(result.changes)
    return result


def _horizon(session: Session) -> int:
    """The oldest transaction of this database still running when the pull's snapshot was taken.

    Transaction ids are shared by every database of a PostgreSQL cluster, so the snapshot's own
    xmin would let a long transaction in another database (another application on the same
    server) hold back every tablet's pull. A running id counts unless pg_stat_activity, read
    after the snapshot, shows it still running in another database: an id that ended in the
    meantime, or that it cannot place (a prepared transaction, a backend with no database),
    holds the horizon as before, so the rule can only serve later, never skip.
    """
    if session.get_bind().dialect.name != "postgresql":
        return NO_HORIZON
    return int(session.execute(_HORIZON).scalar_one())


_HORIZON = text(
    """
    WITH snap AS (SELECT pg_current_snapshot() AS s),
    elsewhere AS (
        SELECT backend_xid::text::bigint AS xid32 FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL
          AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
    )
    SELECT COALESCE(
        (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
         WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid32 FROM elsewhere)),
        (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
    )
    """
)


def _start(database: str, bucket: str, cursor: str | None) -> Cursor | None:
    """Where to read from, or None when the cursor cannot be served (the bucket is reset)."""
    if cursor is None:
        return Cursor(database, bucket, 0, 0)
    try:
        decoded = decode_cursor(cursor)
    except CursorInvalid:
        return None
    if decoded.database != database or decoded.bucket != bucket:
        return None
    return decoded


def _read(
    session: Session, bucket: str, start: Cursor, horizon: int, limit: int
) -> tuple[list[Change], bool]:
    if limit <= 0:
        return [], _any_after(session, bucket, start, horizon)
    rows = list(
        session.scalars(
            select(Change)
            .where(
                Change.bucket == bucket,
                tuple_(Change.txid, Change.id) > tuple_(start.txid, start.id),
                Change.txid < horizon,
            )
            .order_by(Change.txid, Change.id)
            .limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


def _any_after(session: Session, bucket: str, start: Cursor, horizon: int) -> bool:
    return (
        session.scalar(
            select(Change.id)
            .where(
                Change.bucket == bucket,
                tuple_(Change.txid, Change.id) > tuple_(start.txid, start.id),
                Change.txid < horizon,
            )
            .limit(1)
        )
        is not None
    )


def _change(row: Change) -> dict[str, Any]:
    return {
        "bucket": row.bucket,
        "type": row.entity_type,
        "id": row.entity_id,
        "op": row.op,
        "version": row.version,
        "data": row.data,
    }


def _latest_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Within one reply, only the newest change of each record in each bucket is sent."""
    last = {(r["bucket"], r["type"], r["id"]): n for n, r in enumerate(rows)}
    return [r for n, r in enumerate(rows) if last[(r["bucket"], r["type"], r["id"])] == n]

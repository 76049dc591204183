"""Recording work that must happen, in the same transaction as its cause.

A service records a row with `add` (or `created` for a row it built itself) and returns; it never
enqueues. The rows a session created wait in `session.info` until that session commits, and the
one commit point hands them to the dispatcher (`backend.jobs.delivery`): a request's end, a job's
record transaction, a CLI command's unit of work.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import db
from backend.models import OutboxItem, utcnow

NEW_ROWS = "anjian.outbox.new"  # session.info key: ids to deliver once the session commits
NEW_FIRST = "anjian.outbox.first"  # session.info key: those of them to queue at the front


class JobKind(StrEnum):
    """Every kind of outbox work, named once. Services name the kind they record with these;
    `backend.jobs.table.HANDLERS` says what each one does."""

    ledger_entries = "ledger.create_entries"
    media_derivatives = "media.derivatives"
    media_arrived = "media.arrived"
    bundle_build = "bundle.build"


# Kinds a person is waiting for go to the front of the queue, before a backlog of photo
# derivatives (~0.3 s of CPU each): a supervisor who approved an inspection expects its ledger
# entries at once, and an inspection leaves "awaiting media" (for the review queue and every
# tablet's pull) only when its photos' `media.arrived` jobs ran. Both are short database
# writes. With one queue in order of arrival, bench/fleet.py measured approval-to-ledger p95
# at 37 s with ten tablets, and at 200 tablets supervisors saw almost nothing to review.
FIRST: frozenset[str] = frozenset({JobKind.ledger_entries, JobKind.media_arrived})


def add(session: Session, kind: JobKind, key: str, payload: dict[str, Any]) -> int:
    """Record the work once, in one statement: asking again with the same key (here or in a
    transaction racing this one) leaves the first row alone. The row's id either way."""
    values = {
        "kind": str(kind),
        "key": key,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "claims": 0,
        "created_at": utcnow(),
        "enqueued_at": utcnow(),  # handed over right after the commit (see created)
    }
    inserted = session.scalar(
        db.insert(session, OutboxItem)
        .values(values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxItem.id)
    )
    if inserted is None:  # recorded before: no new work to deliver
        return session.scalars(select(OutboxItem.id).where(OutboxItem.key == key)).one()
    created(session, inserted, first=kind in FIRST)
    return inserted


def created(session: Session, *item_ids: int, first: bool = False) -> None:
    """Deliver these rows when the session commits (`first`: at the front of the queue). Rows
    are written with `enqueued_at` set: should the process die between the commit and the
    hand-over, the sweeper delivers them after `STUCK_AFTER`."""
    session.info.setdefault(NEW_ROWS, []).extend(item_ids)
    if first:
        session.info.setdefault(NEW_FIRST, set()).update(item_ids)


def take_created(session: Session) -> tuple[list[int], set[int]]:
    """The rows waiting for this session's commit, and which of them go to the front of the
    queue; forgotten here (a commit or rollback)."""
    return list(session.info.pop(NEW_ROWS, [])), set(session.info.pop(NEW_FIRST, set()))

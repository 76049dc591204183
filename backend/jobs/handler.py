"""What a job kind does, in two phases: I/O with no transaction open, then the database.

`perform(job)` runs after the row is claimed and its claim committed: it may read through
`job.session()` (a short transaction of its own, closed before the I/O), talk to the object
store, render, compress, for as long as it needs, and say how far it has got with
`job.progress(n, total)`. What it returns is handed to `record(session, job, result)`, which
runs in the transaction that marks the row done: writes that must happen once go there, made
idempotent by unique keys (a lapsed claim means the work may be done again elsewhere).

A handler whose effects are database writes alone (the ledger) has no `perform`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.models import OutboxItem, utcnow

if TYPE_CHECKING:
    from backend.extensions import Services


def worker_name() -> str:
    """Who holds a claim: host and process (a thread of the embedded worker is its process)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Job:
    """One claimed outbox row, as its handler sees it."""

    id: int
    kind: str
    payload: dict[str, Any]
    claim: int  # the row's claim number when this job took it: the claim's token
    worker: str
    lease: timedelta
    services: Services

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short unit of work of its own (reads before the I/O, say); commits at the end."""
        with self.services.db.session() as session:
            yield session

    def progress(self, done: int, total: int) -> bool:
        """Note how far the job has got, and renew the lease. False if the claim was lost (the
        lease ran out and another job took the row): this job should stop."""
        now = utcnow()
        with self.services.db.session() as session:
            result = session.execute(
                update(OutboxItem)
                .where(self.held())
                .values(progress_done=done, progress_total=total, lease_until=now + self.lease)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def held(self) -> Any:
        """The condition that this job still holds its row."""
        return (
            (OutboxItem.id == self.id)
            & (OutboxItem.status == "pending")
            & (OutboxItem.claimed_by == self.worker)
            & (OutboxItem.claims == self.claim)
        )


Perform = Callable[[Job], Any]
Record = Callable[[Session, Job, Any], None]
RecordMany = Callable[[Session, list[Job]], None]


@dataclass(frozen=True)
class Handler:
    record: Record
    perform: Perform | None = None
    # How many pending rows of this kind one job may take and record in one transaction.
    # Only for handlers with no `perform`: their work is the record transaction alone.
    batch: int = 1
    # The same as `record` for each job, for several at once (fewer statements); optional.
    record_many: RecordMany | None = None

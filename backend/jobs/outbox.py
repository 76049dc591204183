"""Running outbox rows: exactly once, whatever Redis or a killed worker does.

A job takes only the row id, and goes through three steps, each its own short transaction or
none:

1. **claim**: one conditional UPDATE marks the row as held by this worker until its lease runs
   out (`claimed_by`, `claimed_at`, `lease_until`, `claims` + 1), if it is pending and nobody
   holds it (or the holder's lease has lapsed). Two workers racing on one row: one claims it,
   the other finds nothing and skips. A handler with `batch` > 1 claims further pending rows of
   its kind in the same transaction.
2. **perform**: the handler's I/O, with no transaction open (see `handler.py`).
3. **record**: one transaction marks the row done, if this job still holds it, and runs the
   handler's `record` for its database writes. A job whose lease lapsed meanwhile records
   nothing: the row is someone else's now, and unique keys keep the effects to one.

A failure is recorded in its own transaction (the claim released) and re-raised, so rq retries
with backoff; after MAX_ATTEMPTS the row is `failed` and listed (`anjian jobs failed`,
`GET /api/v1/admin/jobs/failed`) until someone retries it. The sweeper delivers rows that were
never delivered, got stuck, or whose lease lapsed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from backend.extensions import Services
from backend.models import OutboxItem, utcnow

from .handler import Handler, Job, worker_name
from .runtime import services
from .table import HANDLERS

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
STUCK_AFTER = timedelta(minutes=2)
RUN = "backend.jobs.outbox.run"


def job_id(item_id: int, claims: int = 0) -> str:
    """The rq job id: the first delivery `outbox-<id>`; a re-delivery after a lapsed claim gets
    one of its own, since the dead worker's job may still look "started" to rq."""
    return f"outbox-{item_id}" if claims == 0 else f"outbox-{item_id}-{claims}"


def run(item_id: int) -> str:
    """The rq job: claim the row (and, for a batching kind, more of its kind), do the work with
    no transaction open, record it. "done", "skipped" (done, failed, or held by another job),
    or "lost" (the lease ran out first; the row is someone else's)."""
    svc = services()
    jobs = claim(svc, item_id)
    if not jobs:
        return "skipped"
    handler = HANDLERS.get(jobs[0].kind)
    if handler is None:  # a kind the table lacks (tests/backend/jobs/test_table.py): a bug
        error = LookupError(f"no handler for job kind {jobs[0].kind!r}")
        _record_failure(jobs[0], error)
        raise error
    results = [_perform(handler, job) for job in jobs]
    if len(jobs) > 1 and _record_together(handler, jobs, results):
        return "done"
    outcomes, error = [], None
    for job, result in zip(jobs, results, strict=True):
        try:
            outcomes.append(_record_one(handler, job, result))
        except Exception as exc:  # recorded on its row; the others go on
            outcomes.append("failed")
            error = error or (exc if job.id == item_id else None)
    if error is not None:
        raise error  # rq retries this row's job with backoff
    return outcomes[0]


@dataclass(frozen=True)
class _Failed:
    error: Exception


def _perform(handler: Handler, job: Job) -> Any:
    if handler.perform is None:
        return None
    try:
        return handler.perform(job)
    except Exception as exc:
        return _Failed(exc)


# --- claim ---------------------------------------------------------------------------------------


def claim(svc: Services, item_id: int, *, now: datetime | None = None) -> list[Job]:
    """Claim the row, and for a batching kind up to `batch` - 1 more pending rows of its kind,
    in one short transaction. The row's job first; empty if the row is not to be had."""
    now = now or utcnow()
    worker, lease = worker_name(), timedelta(seconds=svc.config.job_lease_seconds)
    with svc.db.session() as session:
        first = _claim(session, [item_id], worker, now, lease)
        if not first:
            return []
        handler = HANDLERS.get(first[0].kind)
        if handler is not None and handler.batch > 1 and handler.perform is None:
            more = _more_of_kind(session, first[0].kind, now, handler.batch - 1, exclude=item_id)
            first += _claim(session, more, worker, now, lease) if more else []
    return [Job(row.id, row.kind, row.payload, row.claims, worker, lease, svc) for row in first]


def _free(now: datetime) -> Any:
    """Rows nobody holds: never claimed, released after a failure, or with a lapsed lease."""
    return and_(
        OutboxItem.status == "pending",
        or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
    )


def _claim(
    session: Session, ids: Sequence[int], worker: str, now: datetime, lease: timedelta
) -> list[Any]:
    return list(
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids), _free(now))
            .values(
                claimed_by=worker,
                claimed_at=now,
                lease_until=now + lease,
                claims=OutboxItem.claims + 1,
                progress_done=None,
                progress_total=None,
            )
            .returning(OutboxItem.id, OutboxItem.kind, OutboxItem.payload, OutboxItem.claims)
        )
    )


def _more_of_kind(
    session: Session, kind: str, now: datetime, limit: int, *, exclude: int
) -> list[int]:
    query = (
        select(OutboxItem.id)
        .where(OutboxItem.kind == kind, OutboxItem.id != exclude, _free(now))
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # rows another claim is taking: skip
    return list(session.scalars(query))


# --- record --------------------------------------------------------------------------------------


def _record_together(handler: Handler, jobs: list[Job], results: list[Any]) -> bool:
    """Several rows of a batching kind in one transaction. False if any fails: then each is
    recorded alone, so one bad row neither blocks nor fails the others."""
    try:
        with jobs[0].services.db.session() as session:
            for job, result in zip(jobs, results, strict=True):
                if _mark_done(session, job):
                    handler.record(session, job, result)
        return True
    except Exception as exc:
        log.info("recording %s rows together failed (%s); one at a time", len(jobs), exc)
        return False


def _record_one(handler: Handler, job: Job, result: Any) -> str:
    try:
        if isinstance(result, _Failed):
            raise result.error
        with job.services.db.session() as session:
            if not _mark_done(session, job):
                log.warning("outbox row %s: the lease ran out before the job ended", job.id)
                return "lost"
            handler.record(session, job, result)
        return "done"
    except Exception as exc:
        _record_failure(job, exc)
        raise


def _mark_done(session: Session, job: Job) -> bool:
    """Mark the row done if this job still holds it (the UPDATE also locks it until commit)."""
    now = utcnow()
    result = session.execute(
        update(OutboxItem)
        .where(job.held())
        .values(
            status="done",
            done_at=now,
            last_error=None,
            claimed_by=None,
            lease_until=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _record_failure(job: Job, exc: Exception) -> None:
    log.warning("outbox row %s failed: %s", job.id, exc)
    with job.services.db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(job.held())
            .values(
                attempts=OutboxItem.attempts + 1,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                claimed_by=None,
                lease_until=None,
            )
        )
        session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == job.id,
                OutboxItem.status == "pending",
                OutboxItem.attempts >= MAX_ATTEMPTS,
            )
            .values(status="failed")
        )


# --- delivery ------------------------------------------------------------------------------------


def enqueue(svc: Services, item_ids: Iterable[int]) -> None:
    """Hand rows (never claimed) to the queue. Never raises: the sweeper delivers what this
    could not."""
    deliver(svc, [(item_id, 0) for item_id in item_ids])


def deliver(svc: Services, rows: Sequence[tuple[int, int]]) -> None:
    """Hand (row id, claims so far) to the queue; rows Redis refused lose their `enqueued_at`,
    so the sweeper's next pass delivers them."""
    refused = []
    for item_id, claims in rows:
        try:
            svc.dispatcher.enqueue(RUN, item_id, job_id=job_id(item_id, claims))
        except Exception as exc:  # Redis down: the row is safe in the database
            log.warning("could not enqueue outbox row %s (%s); the sweeper will", item_id, exc)
            refused.append(item_id)
    if refused:
        with svc.db.session() as session:
            session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(refused)).values(enqueued_at=None)
            )


def sweep(svc: Services, *, now: datetime | None = None) -> int:
    """Deliver pending rows that nobody holds and that were never delivered or long ago, and
    rows whose holder's lease lapsed (its worker died, most likely)."""
    now = now or utcnow()
    with svc.db.session() as session:
        rows = session.execute(
            select(OutboxItem.id, OutboxItem.claims)
            .where(
                OutboxItem.status == "pending",
                or_(
                    OutboxItem.lease_until < now,
                    and_(
                        OutboxItem.lease_until.is_(None),
                        or_(
                            OutboxItem.enqueued_at.is_(None),
                            OutboxItem.enqueued_at < now - STUCK_AFTER,
                        ),
                    ),
                ),
            )
            .order_by(OutboxItem.id)
            .limit(1000)
        ).all()
        if rows:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_([r.id for r in rows]))
                .values(enqueued_at=now)
            )
    deliver(svc, [(r.id, r.claims) for r in rows])
    return len(rows)

"""Running outbox rows: exactly once, whatever Redis or a killed worker does.

A job takes only the row id, and goes through three steps:

1. **claim**: one conditional UPDATE marks the row as held by this worker until its lease runs
   out (`claimed_by`, `claimed_at`, `lease_until`, `claims` + 1), if it is pending and nobody
   holds it (or the holder's lease has lapsed). Two workers racing on one row: one claims it,
   the other finds nothing (PostgreSQL: skips the locked row) and returns "skipped".
2. **perform**: the handler's I/O, with no transaction open, after the claim committed (see
   `handler.py`).
3. **record**: one transaction marks the row done, if this job still holds it, and runs the
   handler's `record` for its database writes. A job whose lease lapsed meanwhile records
   nothing: the row is someone else's now, and unique keys keep the effects to one.

A handler with no I/O phase (the ledger) records in the claim's transaction: one short
transaction, which also takes up to `batch` - 1 more free rows of its kind and records them
together (if that fails, each is done alone). A killed worker's transaction simply rolls back.

A failure is recorded in its own transaction (the claim released) and re-raised, so rq retries
with backoff (the object store being unavailable is no failure of the job: the row goes back
to the sweeper, uncounted, and is delivered again on its next pass); after MAX_ATTEMPTS the
row is `failed` and listed (`anjian jobs failed`, `GET /api/v1/admin/jobs/failed`) until
someone retries it. The sweeper delivers rows that were
never delivered, got stuck, or whose lease lapsed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from backend import metrics
from backend.extensions import Services
from backend.models import OutboxItem, utcnow
from backend.services.outbox import FIRST
from media.store import StoreUnavailable

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
    """The rq job: claim the row, do the work, record it, exactly once. "done", "skipped" (done,
    failed, or held by another job), or "lost" (the lease ran out first; the row is someone
    else's now). Each run is counted by kind and outcome ("failed" when it raises, and rq
    retries) and logged with its kind, outbox id and outcome."""
    started, seen = time.perf_counter(), {"kind": ""}
    outcome = "failed"
    try:
        outcome = _run(item_id, seen)
        return outcome
    finally:
        kind = seen["kind"] or _kind_of(item_id)
        seconds = time.perf_counter() - started
        metrics.count_job(kind, outcome, seconds)
        log.log(
            logging.WARNING if outcome == "failed" else logging.INFO,
            "job %s outbox %s: %s",
            kind,
            item_id,
            outcome,
            extra={
                "kind": kind,
                "outbox_id": item_id,
                "outcome": outcome,
                "duration_ms": round(seconds * 1000, 1),
            },
        )


def _kind_of(item_id: int) -> str:
    """The kind of a row this job did not claim (for its metrics and log line)."""
    try:
        with services().db.session() as session:
            kind = session.scalar(select(OutboxItem.kind).where(OutboxItem.id == item_id))
    except Exception:  # the database is away: the run failed for that very reason
        return "unknown"
    return kind or "unknown"


def _run(item_id: int, seen: dict[str, str]) -> str:
    svc = services()
    recording: list[Job] = []
    try:
        with svc.db.session() as session:
            jobs = _claim(session, svc, [item_id])
            if not jobs:
                return "skipped"
            seen["kind"] = jobs[0].kind
            handler = HANDLERS.get(jobs[0].kind)
            if handler is not None and handler.perform is None:
                # No I/O phase: the record goes in the claim's own short transaction, with as
                # many more free rows of the kind as the handler takes at once.
                if handler.batch > 1:
                    more = _more_of_kind(session, jobs[0], handler.batch - 1)
                    jobs += _claim(session, svc, more) if more else []
                recording = jobs
                _record(session, handler, jobs)
        if recording:
            _withdraw(svc, recording[1:])
            return "done"
    except Exception as exc:
        if not recording:
            raise  # the claim itself failed (the database is down): rq retries
        return _one_at_a_time(svc, item_id, recording, exc)
    if handler is None:  # a kind the table lacks (tests/backend/jobs/test_table.py): a bug
        error = LookupError(f"no handler for job kind {jobs[0].kind!r}")
        _record_failure(svc, item_id, error, jobs[0])
        raise error
    return _perform_then_record(handler, jobs[0])


def _withdraw(svc: Services, done: list[Job]) -> None:
    """The rows done in another row's batch still have their own jobs waiting: drop those that
    have not started, so no worker spends a job on finding the row done. (Their first delivery's
    id, or the sweeper's; a job not found is simply not dropped.)"""
    if not done:
        return
    try:
        svc.dispatcher.withdraw([job_id(job.id, job.claim - 1) for job in done])
    except Exception as exc:  # Redis away: the jobs run and skip
        log.info("could not withdraw %s jobs: %s", len(done), exc)


def _one_at_a_time(svc: Services, item_id: int, jobs: list[Job], exc: Exception) -> str:
    """Recording rows together failed (and rolled back, claims included): each alone, so one
    bad row fails by itself; this job's own row's error goes to rq, which retries it."""
    if len(jobs) == 1:
        _record_failure(svc, item_id, exc, None)
        raise exc
    log.info("recording %s rows together failed (%s); one at a time", len(jobs), exc)
    handler, outcome, error = HANDLERS[jobs[0].kind], "skipped", None
    for job in jobs:
        try:
            with svc.db.session() as session:
                if not _claim(session, svc, [job.id]):
                    continue
                _record(session, handler, [job])
            outcome = "done" if job.id == item_id else outcome
        except Exception as failure:
            _record_failure(svc, job.id, failure, None)
            error = failure if job.id == item_id else error
    if error is not None:
        raise error
    return outcome


def _perform_then_record(handler: Handler, job: Job) -> str:
    """The claim is committed: the I/O with no transaction open, then the record."""
    assert handler.perform is not None
    try:
        result = handler.perform(job)
        with job.services.db.session() as session:
            if not _mark_done(session, [job]):
                log.warning("outbox row %s: the lease ran out before the job ended", job.id)
                return "lost"
            handler.record(session, job, result)
        return "done"
    except StoreUnavailable as exc:
        _defer(job, exc)
        return "deferred"
    except Exception as exc:
        _record_failure(job.services, job.id, exc, job)
        raise


def _defer(job: Job, exc: StoreUnavailable) -> None:
    """The object store is away: not the job's fault, so no attempt is counted (rq's backoff
    would wait minutes after the store is back, and an outage longer than the retries would
    leave the row `failed` for a person to retry). The claim is released and the row handed
    back to the sweeper, which delivers it again on its next pass, for as long as it takes."""
    log.warning(
        "outbox row %s: the object store is unavailable (%s); the sweeper will", job.id, exc
    )
    with job.services.db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(job.held())
            .values(
                last_error=f"deferred, the store is unavailable: {exc}"[:2000],
                claimed_by=None,
                lease_until=None,
                enqueued_at=None,
            )
        )


# --- claim ---------------------------------------------------------------------------------------


def claim(svc: Services, item_id: int, *, now: datetime | None = None) -> list[Job]:
    """Claim the row in a transaction of its own; its job, or nothing if it is not to be had."""
    with svc.db.session() as session:
        return _claim(session, svc, [item_id], now=now)


def _claim(
    session: Session, svc: Services, ids: Sequence[int], *, now: datetime | None = None
) -> list[Job]:
    now = now or utcnow()
    worker, lease = worker_name(), timedelta(seconds=svc.config.job_lease_seconds)
    free = _free(now)
    where = [OutboxItem.id.in_(ids), free]
    if session.get_bind().dialect.name == "postgresql":
        # A row another transaction is claiming or recording right now is skipped, not waited
        # for: that transaction will have it done (or rolled back, and rq retries).
        locked = (
            select(OutboxItem.id)
            .where(OutboxItem.id.in_(ids), free)
            .with_for_update(skip_locked=True)
        )
        where.append(OutboxItem.id.in_(locked.scalar_subquery()))
    rows = session.execute(
        update(OutboxItem)
        .where(*where)
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
    jobs = [Job(row.id, row.kind, row.payload, row.claims, worker, lease, svc) for row in rows]
    return sorted(jobs, key=lambda job: ids.index(job.id))


def _free(now: datetime) -> Any:
    """Rows nobody holds: never claimed, released after a failure, or with a lapsed lease."""
    return and_(
        OutboxItem.status == "pending",
        or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
    )


def _more_of_kind(session: Session, first: Job, limit: int) -> list[int]:
    query = (
        select(OutboxItem.id)
        .where(OutboxItem.kind == first.kind, OutboxItem.id != first.id, _free(utcnow()))
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # rows another claim is taking: skip
    return list(session.scalars(query))


# --- record --------------------------------------------------------------------------------------


def _record(session: Session, handler: Handler, jobs: list[Job]) -> None:
    """Mark the rows done and write their effects, in the caller's transaction."""
    held = _mark_done(session, jobs)
    jobs = [job for job in jobs if job.id in held]
    if handler.record_many is not None and len(jobs) > 1:
        handler.record_many(session, jobs)
    else:
        for job in jobs:
            handler.record(session, job, None)


def _mark_done(session: Session, jobs: list[Job]) -> set[int]:
    """Mark the rows done that these jobs still hold (the UPDATE also locks them until the
    commit); their ids."""
    marked = session.scalars(
        update(OutboxItem)
        .where(or_(*(job.held() for job in jobs)))
        .values(status="done", done_at=utcnow(), last_error=None, claimed_by=None, lease_until=None)
        .returning(OutboxItem.id)
    )
    return set(marked)


def _record_failure(svc: Services, item_id: int, exc: Exception, job: Job | None) -> None:
    """One more attempt on the row, its error, the claim released; `failed` after
    MAX_ATTEMPTS. `job`: the claim that failed, if it was committed (else the row is free)."""
    log.warning("outbox row %s failed: %s", item_id, exc)
    mine = job.held() if job is not None else and_(OutboxItem.id == item_id, _free(utcnow()))
    with svc.db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(mine)
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
                OutboxItem.id == item_id,
                OutboxItem.status == "pending",
                OutboxItem.attempts >= MAX_ATTEMPTS,
            )
            .values(status="failed")
        )


# --- delivery ------------------------------------------------------------------------------------


def enqueue(svc: Services, item_ids: Iterable[int], *, first: Collection[int] = ()) -> None:
    """Hand rows (never claimed) to the queue, those in `first` at its front. Never raises:
    the sweeper delivers what this could not."""
    deliver(svc, [(item_id, 0) for item_id in item_ids], first=first)


def deliver(svc: Services, rows: Sequence[tuple[int, int]], *, first: Collection[int] = ()) -> None:
    """Hand (row id, claims so far) to the queue, the rows in `first` at its front; rows Redis
    refused lose their `enqueued_at`, so the sweeper's next pass delivers them."""
    refused = []
    for item_id, claims in rows:
        try:
            svc.dispatcher.enqueue(
                RUN, item_id, job_id=job_id(item_id, claims), at_front=item_id in first
            )
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
            select(OutboxItem.id, OutboxItem.claims, OutboxItem.kind)
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
    deliver(svc, [(r.id, r.claims) for r in rows], first={r.id for r in rows if r.kind in FIRST})
    return len(rows)

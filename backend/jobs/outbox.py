"""Running outbox rows: exactly once, whatever Redis or a killed worker does.

A job takes only the row id. It locks the row (PostgreSQL: FOR UPDATE SKIP LOCKED, so two
workers racing on one row never both run it), runs the handler for the row's kind, and marks the
row done in the same transaction as the handler's writes. A failure is recorded in its own
transaction and re-raised, so rq retries with backoff; after MAX_ATTEMPTS the row is `failed` and
listed (`anjian jobs failed`) until someone retries it. The sweeper re-enqueues rows that were
never delivered or got stuck.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend.extensions import Services
from backend.models import OutboxItem, utcnow

from .runtime import services

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
STUCK_AFTER = timedelta(minutes=2)

Handler = Callable[[Session, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[kind] = func
        return func

    return register


def job_id(item_id: int) -> str:
    return f"outbox-{item_id}"


def run(item_id: int) -> str:
    """The rq job: do one outbox row's work, once."""
    db = services().db
    try:
        with db.session() as session:
            item = _lock(session, item_id)
            if item is None:
                return "skipped"  # done, failed, or another worker holds it
            HANDLERS[item.kind](session, item.payload)
            item.status, item.done_at, item.last_error = "done", utcnow(), None
            return "done"
    except Exception as exc:
        _record_failure(item_id, exc)
        raise


def _lock(session: Session, item_id: int) -> OutboxItem | None:
    query = select(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.status == "pending")
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).one_or_none()


def _record_failure(item_id: int, exc: Exception) -> None:
    log.warning("outbox row %s failed: %s", item_id, exc)
    with services().db.session() as session:
        item = session.get(OutboxItem, item_id)
        if item is None:
            return
        item.attempts += 1
        item.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if item.attempts >= MAX_ATTEMPTS:
            item.status = "failed"


def enqueue(svc: Services, item_ids: list[int], *, marked: bool = False) -> None:
    """Hand rows to the queue. Never raises: the sweeper delivers what this could not.

    ``marked``: the rows were written with ``enqueued_at`` already set, in the transaction that
    created them, which saves a transaction per row here. Should the process die before the
    hand-over, the sweeper then delivers them after ``STUCK_AFTER`` instead of at once.
    """
    for item_id in item_ids:
        # Marked before it is handed over: a worker that starts at once must not find the row
        # locked by this update (it would skip the row as "another worker holds it").
        if not marked:
            _mark_enqueued(svc, item_id, utcnow())
        try:
            svc.dispatcher.enqueue("backend.jobs.outbox.run", item_id, job_id=job_id(item_id))
        except Exception as exc:  # Redis down: the row is safe in the database
            log.warning("could not enqueue outbox row %s (%s); the sweeper will", item_id, exc)
            _mark_enqueued(svc, item_id, None)


def _mark_enqueued(svc: Services, item_id: int, at: datetime | None) -> None:
    with svc.db.session() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(enqueued_at=at))


def sweep(svc: Services, *, now: datetime | None = None) -> int:
    """Re-enqueue pending rows never enqueued, or enqueued long ago and still not done."""
    now = now or utcnow()
    with svc.db.session() as session:
        ids = list(
            session.scalars(
                select(OutboxItem.id)
                .where(
                    OutboxItem.status == "pending",
                    or_(
                        OutboxItem.enqueued_at.is_(None), OutboxItem.enqueued_at < now - STUCK_AFTER
                    ),
                )
                .order_by(OutboxItem.id)
                .limit(1000)
            )
        )
    enqueue(svc, ids)
    return len(ids)


def failed(svc: Services) -> list[OutboxItem]:
    with svc.db.session() as session:
        return list(
            session.scalars(
                select(OutboxItem).where(OutboxItem.status == "failed").order_by(OutboxItem.id)
            )
        )


def retry(svc: Services, item_id: int) -> bool:
    with svc.db.session() as session:
        result = session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == "failed")
            .values(status="pending", attempts=0, enqueued_at=None)
        )
        changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        enqueue(svc, [item_id])
    return changed


# Last: handler modules register themselves with `handler` above.
from . import handlers  # noqa: E402, F401

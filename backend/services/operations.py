"""Operations over the outbox for the admin API, in the request's own session.

(`backend.jobs.outbox.failed`/`retry` open sessions of their own, which suits the CLI; inside a
request a second session would wait on SQLite for the write lock the request already holds.)
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.models import OutboxItem, User

from . import audit


class NotAFailedJob(Conflict):
    status, code = 409, "jobs.not_failed"


def failed_jobs(session: Session, *, limit: int = 500) -> list[OutboxItem]:
    return list(
        session.scalars(
            select(OutboxItem)
            .where(OutboxItem.status == "failed")
            .order_by(OutboxItem.id)
            .limit(limit)
        )
    )


def retry_job(session: Session, actor: User, item_id: int) -> bool:
    """Make a failed row pending again (enqueue it after the commit); False if it was not
    failed."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.status == "failed")
        .values(status="pending", attempts=0, enqueued_at=None)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session, actor=actor, action="outbox.retry", entity_type="outbox", entity_id=item_id
    )
    return True

"""Operations over the outbox, for the admin API and the CLI alike, in the caller's session.

A retried row is delivered at the commit (`outbox.created`), like any new row.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.models import OutboxItem, User, utcnow

from . import audit, outbox


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
    """Make a failed row pending again, audited, and delivered after the commit; False if it
    was not failed."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.status == "failed")
        .values(
            status="pending", attempts=0, enqueued_at=utcnow(), claimed_by=None, lease_until=None
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    outbox.created(session, item_id)
    audit.record(
        session, actor=actor, action="outbox.retry", entity_type="outbox", entity_id=item_id
    )
    return True

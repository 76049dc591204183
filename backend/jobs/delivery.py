"""Delivery at the commit point: the outbox rows a session created go to the dispatcher once,
right after that session commits, whichever place commits it (a request's end, a job's record
transaction, a CLI command). Services only record them (`services.outbox.created`); no view
enqueues anything.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from backend.services.outbox import take_created

from . import runtime

log = logging.getLogger(__name__)


def install() -> None:
    """Deliver at every session's commit in this process (`runtime.bind` calls this)."""
    if not event.contains(Session, "after_commit", _deliver):
        event.listen(Session, "after_commit", _deliver)
        event.listen(Session, "after_soft_rollback", _forget)


def _deliver(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the rows are not committed yet
        return
    item_ids, first = take_created(session)
    if not item_ids:
        return
    svc = runtime.bound()
    if svc is None:  # a session outside any app (a script): the sweeper delivers them
        return
    from .outbox import enqueue

    enqueue(svc, item_ids, first=first)


def _forget(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction is gone, and its rows with it
        take_created(session)

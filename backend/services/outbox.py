"""Recording work that must happen, in the same transaction as its cause."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import OutboxItem


def add(session: Session, kind: str, key: str, payload: dict[str, Any]) -> OutboxItem:
    """Record the work once: asking again with the same key returns the existing row."""
    existing = session.scalars(select(OutboxItem).where(OutboxItem.key == key)).one_or_none()
    if existing is not None:
        return existing
    item = OutboxItem(kind=kind, key=key, payload=payload)
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:  # another transaction recorded the same work first
        return session.scalars(select(OutboxItem).where(OutboxItem.key == key)).one()
    return item

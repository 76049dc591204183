"""Work that must happen because of a change, written in the same transaction as the change.

Redis only delivers it; this table is the truth. A row is done exactly once: a job claims it
(with a lease), does its I/O with no transaction open, and its handler's writes and the
`done_at` mark commit together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class OutboxItem(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(60))
    # What makes the work unique (e.g. "ledger:<inspection id>"): asking twice is one row.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/done/failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # The claim (see backend/jobs/outbox.py): a job holds the row until `lease_until`; once that
    # has passed, anyone may claim it again. `claims` counts claims, so a re-delivery after a
    # lapsed lease gets an rq job id of its own.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    claims: Mapped[int] = mapped_column(default=0, server_default="0")
    # How far a running job has got, as it last said (bundles show it).
    progress_done: Mapped[int | None]
    progress_total: Mapped[int | None]

    __table_args__ = (Index("ix_outbox_status_enqueued", "status", "enqueued_at"),)

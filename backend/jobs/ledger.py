"""The ledger's outbox work: an approval's confirmed findings become ledger entries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from backend.services.ledger import entries

from .handler import Handler, Job

BATCH = 50  # rows one job takes: approvals arrive one row each, faster than one job a row


def _create_entries(session: Session, job: Job, _result: Any) -> None:
    """One entry per confirmed finding; safe to run again (the unique finding_id holds)."""
    entries.create_for_inspection(session, uuid.UUID(job.payload["inspection_id"]))


def _create_many(session: Session, jobs: list[Job]) -> None:
    entries.create_for_inspections(
        session, [uuid.UUID(job.payload["inspection_id"]) for job in jobs]
    )


CREATE_ENTRIES = Handler(record=_create_entries, batch=BATCH, record_many=_create_many)

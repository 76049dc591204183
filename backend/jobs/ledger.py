"""The ledger's outbox work: an approval's confirmed findings become ledger entries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from backend.services.ledger import entries
from backend.services.review import LEDGER_JOB

from .outbox import handler


@handler(LEDGER_JOB)
def create_entries(session: Session, payload: dict[str, Any]) -> None:
    """One entry per confirmed finding; safe to run again (the unique finding_id holds)."""
    entries.create_for_inspection(session, uuid.UUID(payload["inspection_id"]))

"""Writing down what happened to a hazard: its event, the audit log, and the change log.

Every change to a hazard goes through `record`, in the transaction of the change: the append-only
`hazard_events` row (who, when, why, what), an audit entry, and a change row for the unit's
tablets (and the listing unit's, when another unit lists it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.models import Hazard, HazardEvent, HazardState, User
from backend.services import audit, changelog

from . import render, states


def record(
    session: Session,
    entry: Hazard,
    event_type: str,
    *,
    actor: User | None,
    before: HazardState | None,
    now: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    device_id: uuid.UUID | None = None,
) -> None:
    record_many(
        session,
        [(entry, event_type, before, reason, data or {})],
        actor=actor,
        now=now,
        device_id=device_id,
    )


def record_many(
    session: Session,
    items: Iterable[tuple[Hazard, str, HazardState | None, str | None, dict[str, Any]]],
    *,
    actor: User | None,
    now: datetime,
    device_id: uuid.UUID | None = None,
) -> None:
    """The same, for several hazards at once: three multi-row inserts whatever their number."""
    events, rows = [], []
    as_of = states.local_date(now)
    for entry, event_type, before, reason, data in items:
        clean = changelog.jsonable(data)
        events.append(
            {
                "hazard_id": entry.id,
                "type": event_type,
                "at": now,
                "actor_id": actor.id if actor else None,
                "device_id": device_id,
                "state_before": before.value if before else None,
                "state_after": entry.state.value,
                "reason": reason,
                "data": clean,
            }
        )
        audit.record(
            session,
            actor=actor,
            action=f"hazard.{event_type}",
            entity_type="hazard",
            entity_id=entry.id,
            reason=reason,
            data={"number": entry.number, "state": entry.state.value, **clean},
        )
        rows += _change_rows(entry, as_of)
    if events:
        session.execute(insert(HazardEvent), events)
        changelog.record(session, rows)


def _change_rows(entry: Hazard, as_of: Any) -> list[changelog.ChangeRow]:
    data = changelog.jsonable(render.hazard(entry, as_of))
    buckets = [changelog.unit_bucket(entry.unit_id)]
    if entry.listed_unit_id not in (None, entry.unit_id):
        # The listing unit's supervisors follow it; its inspectors have no part in it.
        buckets.append(changelog.supervisors_bucket(entry.listed_unit_id))
    return [
        changelog.ChangeRow(bucket, "hazard", str(entry.id), "upsert", entry.version, data)
        for bucket in buckets
    ]

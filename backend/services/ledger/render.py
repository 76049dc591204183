"""How a hazard and its history read in the API and in pull changes (made JSON there)."""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.models import Hazard, HazardEvent, HazardState

from . import states

COLUMNS = (
    "id",
    "number",
    "unit_id",
    "enterprise_id",
    "inspection_id",
    "finding_id",
    "sector",
    "source",
    "level",
    "rule",
    "rule_label",
    "clause",
    "findings",
    "override_reason",
    "description",
    "requirement",
    "deadline",
    "original_deadline",
    "found_on",
    "before_photos",
    "after_photos",
    "confirmed_by",
    "confirmed_at",
    "state",
    "listed_unit_id",
    "listed_on",
    "measures",
    "funds_yuan",
    "responsible_person",
    "plan",
    "listing_number",
    "listing_level",
    "listing_requirements",
    "listing_deadline",
    "delisted_on",
    "reported_at",
    "report_channel",
    "rectified_at",
    "closed_at",
    "version",
    "created_at",
    "updated_at",
)


def is_overdue(hazard: Hazard, as_of: date) -> bool:
    """Past its deadline and not rectified (待整改 or 整改中) on `as_of`."""
    return (
        hazard.deadline is not None
        and hazard.deadline < as_of
        and hazard.state in states.NOT_RECTIFIED
    )


def hazard(entry: Hazard, as_of: date) -> dict[str, Any]:
    data = {key: getattr(entry, key) for key in COLUMNS}
    # Entries made before migration 0011 stand for their own finding alone.
    data["findings"] = entry.findings or [str(entry.finding_id)]
    data.update(
        state_label=states.STATE_LABELS[entry.state],
        level_label=states.LEVEL_LABELS.get(entry.level, entry.level),
        source_label=states.SOURCE_LABELS[entry.source],
        listed=entry.listed_unit_id is not None and entry.delisted_on is None,
        listing_level_label=states.LISTING_LEVEL_LABELS.get(entry.listing_level or ""),
        overdue=is_overdue(entry, as_of),
        open=entry.state not in (HazardState.closed, HazardState.voided),
    )
    return data


def event(row: HazardEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "label": states.EVENT_LABELS.get(row.type, row.type),
        "at": row.at,
        "actor_id": row.actor_id,
        "device_id": row.device_id,
        "state_before": row.state_before,
        "state_after": row.state_after,
        "reason": row.reason,
        "data": row.data,
    }

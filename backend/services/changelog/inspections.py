"""An inspection's change rows: its summary for the unit's devices, the whole of it for the
inspector's. The push, a review and a photo's arrival all build them here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Finding, Inspection
from backend.services import inspections
from sync.inspections import InspectionSave, Suggestion

from . import render
from .log import ChangeRow, unit_bucket, user_bucket


def of_inspection(
    meta: dict[str, Any], content: InspectionSave, suggestions: dict[uuid.UUID, Any]
) -> list[ChangeRow]:
    """``meta`` holds unit_id, inspector_id, version and the review state; ``suggestions`` the
    rules' level and rule per finding id."""
    entity_id = str(content.id)
    return [
        ChangeRow(
            unit_bucket(meta["unit_id"]),
            "inspection",
            entity_id,
            "upsert",
            meta["version"],
            render.summary(meta, content),
        ),
        ChangeRow(
            user_bucket(meta["inspector_id"]),
            "inspection",
            entity_id,
            "upsert",
            meta["version"],
            render.inspection(meta, content, suggestions),
        ),
    ]


def of_stored_inspection(
    session: Session,
    row: Inspection,
    *,
    content: InspectionSave | None = None,
    **extra: Any,
) -> list[ChangeRow]:
    """The same rows for an inspection as stored (after a review, a photo's arrival): its
    content and suggestions read back, unless the caller has the content already; ``extra``
    adds to the meta (``review``, ``awaiting_media``)."""
    content = content or inspections.stored_content(session, row)
    suggestions = {
        f.id: Suggestion(f.suggested_level, f.suggested_rule, tuple(f.suggestion_notes))
        for f in session.scalars(select(Finding).where(Finding.inspection_id == row.id))
    }
    meta = {
        "unit_id": row.unit_id,
        "inspector_id": row.inspector_id,
        "status": row.status,
        "version": row.version,
        "level": row.level,
        "updated_at": row.updated_at,
        **extra,
    }
    return of_inspection(meta, content, suggestions)

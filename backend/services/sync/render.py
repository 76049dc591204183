"""How an inspection reads in pull changes (and, later, in the review API)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from sync.inspections import InspectionSave


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def inspection(
    meta: dict[str, Any], content: InspectionSave, suggestions: dict[uuid.UUID, Any]
) -> dict[str, Any]:
    """The whole inspection: what the inspector's own devices get (user bucket)."""
    findings = [
        {**f, "suggested_level": suggestions[f["id"]][0], "suggested_rule": suggestions[f["id"]][1]}
        for f in content.findings
    ]
    return jsonable(
        {
            **summary(meta, content),
            "started_at": content.started_at,
            "finished_at": content.finished_at,
            "location": content.location,
            "inspectors": content.inspectors,
            "answers": content.answers,
            "findings": findings,
            "photos": content.photos,
            "signatures": content.signatures,
        }
    )  # type: ignore[no-any-return]


def summary(meta: dict[str, Any], content: InspectionSave) -> dict[str, Any]:
    """What the unit's devices get: the record and its review state, not every answer."""
    return jsonable(
        {
            "id": content.id,
            "enterprise_id": content.enterprise_id,
            "checklist": {"code": content.checklist_code, "version": content.checklist_version},
            "kind": content.kind,
            "finding_count": len(content.findings),
            **meta,
        }
    )  # type: ignore[no-any-return]

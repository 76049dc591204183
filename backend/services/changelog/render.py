"""How records read in change rows: an inspection (summary and whole), and any value as JSON."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from sync.inspections import InspectionSave, groups


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
    """The whole inspection: what the inspector's own devices get (user bucket).

    Answers and signatures are plain strings already; only what holds ids, dates and times is
    converted, so rendering stays cheap for inspections with many answers.
    """
    data = summary(meta, content)
    data.update(
        {
            "started_at": jsonable(content.started_at),
            "finished_at": jsonable(content.finished_at),
            "location": content.location,
            "inspectors": jsonable(content.inspectors),
            "record": jsonable(content.record),
            "answers": content.answers,
            "findings": _findings(content, suggestions),
            "photos": jsonable(content.photos),
            "signatures": content.signatures,
        }
    )
    return data


def _findings(content: InspectionSave, suggestions: dict[uuid.UUID, Any]) -> list[dict[str, Any]]:
    leads = groups(content.findings, suggestions)
    return [_finding(f, suggestions[f["id"]], leads.get(f["id"])) for f in content.findings]


def _finding(finding: dict[str, Any], suggestion: Any, lead: Any) -> dict[str, Any]:
    return {
        **finding,
        "id": str(finding["id"]),
        "deadline": jsonable(finding["deadline"]),
        **_suggestion(suggestion, lead),
    }


def _suggestion(suggestion: Any, lead: Any) -> dict[str, Any]:
    """The rules' suggestion for a finding; `suggested_group` is the first finding of the same
    matched rule (one situation, one major: the group becomes one ledger entry)."""
    return {
        "suggested_level": suggestion[0],
        "suggested_rule": suggestion[1],
        "suggested_group": str(lead) if lead is not None else None,
        "suggestion_notes": list(suggestion[2]) if len(suggestion) > 2 else [],
    }


def suggestions(content: InspectionSave, suggestions: dict[uuid.UUID, Any]) -> dict[str, Any]:
    """What a push reply says of the findings: each one's suggestion, group and notes."""
    if not content.findings:
        return {}
    leads = groups(content.findings, suggestions)
    return {
        "findings": [
            {"id": str(f["id"]), **_suggestion(suggestions[f["id"]], leads.get(f["id"]))}
            for f in content.findings
        ]
    }


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

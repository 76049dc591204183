"""Append to the audit log. Every change to a record goes through here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.models import AuditEntry, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: object,
    data: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        data=_jsonable(data or {}),
        reason=reason,
    )
    session.add(entry)
    return entry


def changes(obj: object, values: dict[str, Any]) -> dict[str, Any]:
    """Apply `values` to `obj`; return {field: [old, new]} for what really changed."""
    diff: dict[str, Any] = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if old != new:
            diff[key] = [old, new]
            setattr(obj, key, new)
    return diff


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)

"""Writing a decided batch: a handful of multi-row statements, whatever the batch size.

One writer per list of `Effects`, run in the order of `WRITERS` once every command of the batch
is decided. A new kind of effect is a new list there and a new writer here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import delete

from backend.models import (
    Amendment,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionMedia,
    InspectionPhoto,
    InspectionStatus,
)
from backend.services import bulk, changelog
from backend.services.ledger import events as ledger_events
from backend.services.media import records as media
from sync.inspections import InspectionSave, Suggestion

from .batch import Batch, Context, Effects
from .state import BatchState, Current, Snapshot


def write(batch: Batch) -> None:
    for writer in WRITERS:
        writer(batch)


def _inspections_and_amendments(batch: Batch) -> None:
    ctx, state, effects = batch.ctx, batch.state, batch.effects
    touched = [c for c in state.inspections.values() if c.content_changed or c.status_changed]
    # Every writer here is the user's unit (commands refuse anyone else's inspections).
    referenced = [c.content.media() for c in touched if c.content is not None]
    available = media.available(ctx.session, ctx.user.unit_id, set().union(*referenced))
    _inspections(ctx, touched, available)
    _content(ctx, [c for c in touched if c.content_changed], available)
    if effects.amendments:
        bulk.insert_rows(ctx.session, Amendment.__table__, effects.amendments)
    changelog.record(ctx.session, _change_rows(ctx, state, effects, available))


def _hazard_events(batch: Batch) -> None:
    for decided in batch.effects.hazard_events:
        ledger_events.write(batch.ctx.session, decided, device_id=batch.ctx.device.id)


WRITERS: tuple[Callable[[Batch], None], ...] = (_hazard_events, _inspections_and_amendments)


def _inspections(ctx: Context, touched: list[Current], available: media.Available) -> None:
    new = []
    for current in touched:
        content = current.content
        assert content is not None
        values = {
            "checklist_code": content.checklist_code,
            "checklist_version": content.checklist_version,
            "enterprise_id": content.enterprise_id,
            "kind": content.kind,
            "started_at": content.started_at,
            "finished_at": content.finished_at,
            "location": content.location,
            "inspectors": changelog.jsonable(content.inspectors),
            "record": changelog.jsonable(content.record),
            "signatures": changelog.jsonable(content.signatures),
            "awaiting_media": available.awaiting(content.media()),
            "level": current.level,
            "status": current.status,
            "version": current.version,
            "edited_version": current.edited_version,
            "updated_at": ctx.now,
        }
        if current.status_changed and current.status is InspectionStatus.submitted:
            values["submitted_at"] = ctx.now
        elif current.row is None:
            values["submitted_at"] = None  # every new row has the same keys (one statement)
        if current.row is None:
            new.append(
                {
                    **values,
                    "id": content.id,
                    "unit_id": ctx.user.unit_id,
                    "inspector_id": ctx.user.id,
                    "device_id": ctx.device.id,
                    "created_at": ctx.now,
                }
            )
        else:
            for key, value in values.items():
                setattr(current.row, key, value)
    if new:
        bulk.insert_rows(ctx.session, Inspection.__table__, new)
    ctx.session.flush()


def _content(ctx: Context, changed: list[Current], available: media.Available) -> None:
    if not changed:
        return
    # Only inspections that existed have old content to replace.
    ids = [c.content.id for c in changed if c.content is not None and c.row is not None]
    if ids:
        for model in (InspectionAnswer, Finding, InspectionPhoto, InspectionMedia):
            ctx.session.execute(delete(model).where(model.inspection_id.in_(ids)))
    answers, findings, photos, references = [], [], [], []
    for current in changed:
        content = current.content
        assert content is not None
        answers += [{"inspection_id": content.id, **a} for a in content.answers]
        findings += [
            _finding(content.id, n, f, current.suggestions[f["id"]])
            for n, f in enumerate(content.findings)
        ]
        photos += [
            {
                "inspection_id": content.id,
                **p,
                "capture_gap_seconds": available.capture_gap(
                    p["sha256"], content.started_at, content.finished_at
                ),
            }
            for p in _unique_photos(content)
        ]
        references += media.reference_rows(content.id, content.media())
    for model, rows in (
        (InspectionAnswer, answers),
        (Finding, findings),
        (InspectionPhoto, photos),
        (InspectionMedia, references),
    ):
        bulk.insert_rows(ctx.session, model.__table__, rows)


def _finding(
    inspection_id: uuid.UUID,
    position: int,
    finding: dict[str, Any],
    suggestion: Suggestion,
) -> dict[str, Any]:
    deadline = finding["deadline"]
    return {
        "id": finding["id"],
        "inspection_id": inspection_id,
        "position": position,
        "items": finding["items"],
        "description": finding["description"].strip(),
        "requirement": finding["requirement"],
        "deadline": deadline if isinstance(deadline, date) else None,
        "immediate": deadline == "immediate",
        "claimed_level": finding["claimed_level"],
        "suggested_level": suggestion[0],
        "suggested_rule": suggestion[1],
        "suggestion_notes": list(suggestion.notes),
        "photos": finding["photos"],
        "sector": finding.get("sector"),
    }


def _unique_photos(content: InspectionSave) -> list[dict[str, Any]]:
    # The same photo listed twice is one photo: the first listing wins.
    seen: dict[str, dict[str, Any]] = {}
    for photo in content.photos:
        seen.setdefault(photo["sha256"], photo)
    return list(seen.values())


def _change_rows(
    ctx: Context, state: BatchState, effects: Effects, available: media.Available
) -> list[changelog.ChangeRow]:
    rows = []
    for snapshot, _name in effects.changes:
        current = state.inspections[snapshot.content.id]
        meta = _meta(ctx, current, snapshot)
        meta["awaiting_media"] = available.awaiting(snapshot.content.media())
        rows += changelog.of_inspection(meta, snapshot.content, snapshot.suggestions)
    for amendment in effects.amendments:
        data = changelog.jsonable({k: v for k, v in amendment.items() if k != "payload"})
        rows.append(
            changelog.ChangeRow(
                changelog.user_bucket(ctx.user.id),
                "amendment",
                str(amendment["id"]),
                "upsert",
                1,
                {**data, "payload": amendment["payload"]},
            )
        )
        rows.append(
            changelog.ChangeRow(
                changelog.unit_bucket(ctx.user.unit_id),
                "amendment",
                str(amendment["id"]),
                "upsert",
                1,
                data,
            )
        )
    return rows


def _meta(ctx: Context, current: Current, snapshot: Snapshot) -> dict[str, Any]:
    row = current.row
    return {
        "unit_id": row.unit_id if row else ctx.user.unit_id,
        "inspector_id": row.inspector_id if row else ctx.user.id,
        "status": snapshot.status,
        "version": snapshot.version,
        "level": snapshot.level,
        "updated_at": ctx.now,
    }

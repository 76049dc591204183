"""Deciding `inspection.save@1` and `inspection.submit@1` against the batch state, in memory.

A save or a submit moves its inspection's `Current` on and records a change snapshot; a save
that reaches a locked or changed inspection records an amendment instead. `writes` writes the
inspections, their content, the amendments and the change rows once the batch is decided.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select

from backend.domain.sectors import SECTORS
from backend.models import EDITABLE, Enterprise, User
from backend.services import inspections as stored
from backend.services.changelog import render
from backend.services.ledger import states as ledger_states
from sync import CommandRejected, Mutation
from sync import inspections as rules

from .batch import Batch, Outcome, Reads, applied
from .state import Current


def save_reads(save: rules.InspectionSave) -> Reads:
    return Reads(
        inspections=frozenset({save.id}),
        enterprises=frozenset({save.enterprise_id}),
        findings=frozenset(f["id"] for f in save.findings),
    )


def submit_reads(inspection_id: uuid.UUID) -> Reads:
    return Reads(inspections=frozenset({inspection_id}))


def decide_save(batch: Batch, mutation: Mutation, save: rules.InspectionSave) -> Outcome:
    ctx, state = batch.ctx, batch.state
    version = stored.checklist_version(ctx.session, save.checklist_code, save.checklist_version)
    if version is None:
        raise CommandRejected(
            "checklist.version_unknown",
            f"Checklist {save.checklist_code!r} has no version {save.checklist_version!r}. "
            "Pin a version listed by GET /api/v1/checklists.",
        )
    verdict, dropped = rules.scoped(
        rules.check_against(save, version),
        _day(save.started_at),
        state.enterprise_sectors.get(save.enterprise_id),
    )
    if state.enterprise_units.get(save.enterprise_id) != ctx.user.unit_id:
        raise CommandRejected(
            "enterprise.unknown",
            f"Enterprise {save.enterprise_id} is not one of your unit's. "
            "Pull the enterprise list, or register it first.",
        )
    for finding in save.findings:
        if state.finding_owners.get(finding["id"], save.id) != save.id:
            raise CommandRejected(
                "finding.id_taken",
                f"Finding id {finding['id']} belongs to another inspection; "
                "generate a new id for it.",
            )
    _check_inspectors(batch, save)
    _check_sectors(save)
    current = state.inspections.setdefault(save.id, Current(row=None))
    _check_owner(batch, current)
    conflict = _conflict(current, mutation)
    if conflict:
        return _amend(batch, mutation, current, save.id, conflict)
    current.content = save
    current.suggestions = rules.suggest_all(save.findings, verdict, version, dropped)
    current.level = verdict.level
    current.content_changed = True
    return _applied(batch, mutation, current)


def _check_inspectors(batch: Batch, save: rules.InspectionSave) -> None:
    """Co-inspectors named by user id must be active users of the inspector's unit: anyone
    named cannot review the inspection, so an arbitrary id could block its only reviewer."""
    named = {p["user_id"] for p in save.inspectors if p.get("user_id")}
    if not named:
        return
    ctx = batch.ctx
    found = set(
        ctx.session.scalars(
            select(User.id).where(
                User.id.in_(named), User.unit_id == ctx.user.unit_id, User.active.is_(True)
            )
        )
    )
    unknown = sorted(str(u) for u in named - found)
    if unknown:
        raise CommandRejected(
            "inspection.inspector_unknown",
            f"Co-inspectors {', '.join(unknown)} are not users of your unit. Name only "
            "colleagues of your unit by user_id, or give just their name.",
            {"inspectors": unknown},
        )


def _check_sectors(save: rules.InspectionSave) -> None:
    unknown = sorted({f["sector"] for f in save.findings if f["sector"]} - SECTORS.keys())
    if unknown:
        raise CommandRejected(
            "finding.sector_unknown",
            f"Unknown sector {', '.join(unknown)}; use one of {', '.join(SECTORS)}.",
            {"args": {"findings": [f"Unknown sector {s}." for s in unknown]}},
        )


def _day(started_at: datetime | None) -> date:
    """The inspection's date (China time): the standards in force that day judge it."""
    return ledger_states.local_date(started_at) if started_at else ledger_states.today()


def decide_submit(batch: Batch, mutation: Mutation, inspection_id: uuid.UUID) -> Outcome:
    ctx = batch.ctx
    current = batch.state.inspections.get(inspection_id)
    if current is None or not current.exists:
        raise CommandRejected(
            "inspection.not_found",
            f"There is no inspection {inspection_id} to submit; push its inspection.save@1 first.",
        )
    _check_owner(batch, current)
    if current.status not in EDITABLE:
        raise CommandRejected(
            "inspection.not_editable",
            f"The inspection is {current.status.value}; it cannot be submitted again.",
        )
    if current.content is None:
        assert current.row is not None
        current.content = stored.stored_content(ctx.session, current.row)
    content = current.content
    version = stored.checklist_version(
        ctx.session, content.checklist_code, content.checklist_version
    )
    assert version is not None  # it was checked when the inspection was saved
    enterprise = ctx.session.get(Enterprise, content.enterprise_id)
    verdict, dropped = rules.scoped(
        version.evaluate({a["item"]: a["answer"] for a in content.answers}),
        _day(content.started_at),
        enterprise.sector if enterprise else None,
    )
    missing = rules.missing_for_submit(content, version, verdict)
    if missing:
        raise CommandRejected(
            "inspection.incomplete",
            "The inspection cannot go to review yet. Missing: " + "; ".join(missing) + ".",
            {"missing": missing},
        )
    current.suggestions = current.suggestions or rules.suggest_all(
        content.findings, verdict, version, dropped
    )
    current.level = verdict.level
    current.submit()
    return _applied(batch, mutation, current)


def _check_owner(batch: Batch, current: Current) -> None:
    row, user = current.row, batch.ctx.user
    if row is not None and (row.unit_id != user.unit_id or row.inspector_id != user.id):
        raise CommandRejected(
            "inspection.not_yours",
            "This inspection was recorded by someone else; only its "
            "inspector can change it from a tablet.",
        )


def _conflict(current: Current, mutation: Mutation) -> str | None:
    if not current.exists:
        return None
    if current.status not in EDITABLE:
        return "inspection.locked"
    if mutation.base_version is not None and not (
        current.edited_version <= mutation.base_version <= current.version
    ):
        return "inspection.version_conflict"
    return None


def _amend(
    batch: Batch, mutation: Mutation, current: Current, inspection_id: uuid.UUID, code: str
) -> Outcome:
    ctx = batch.ctx
    amendment_id = uuid.uuid4()
    batch.effects.amendments.append(
        {
            "id": amendment_id,
            "inspection_id": inspection_id,
            "user_id": ctx.user.id,
            "device_id": ctx.device.id,
            "command_id": mutation.id,
            "reason": code,
            "base_version": mutation.base_version,
            "payload": dict(mutation.args),
            "created_at": ctx.now,
        }
    )
    message = (
        "The inspection is already with the supervisor; your edit was kept as an "
        "amendment for them to see."
        if code == "inspection.locked"
        else f"The inspection changed since version {mutation.base_version}; your edit was "
        "kept as an amendment. Pull, then save again."
    )
    return Outcome(
        mutation,
        "conflict",
        code,
        message,
        entity={
            "type": "amendment",
            "id": str(amendment_id),
            "inspection_id": str(inspection_id),
            "inspection_version": current.version,
        },
    )


def _applied(batch: Batch, mutation: Mutation, current: Current) -> Outcome:
    current.version += 1
    current.edited_version = current.version
    batch.effects.changes.append((current.snapshot(), mutation.name))
    assert current.content is not None
    outcome = applied(mutation, "inspection", current.content.id, current.version)
    # What the rules say of each finding: level, group, notes (docs/standards.md).
    assert outcome.entity is not None
    outcome.entity.update(render.suggestions(current.content, current.suggestions))
    return outcome

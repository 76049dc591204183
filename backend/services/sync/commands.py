"""Applying a batch of commands: decide every outcome in order, then write in bulk.

Each command is all or nothing. The batch is decided in memory against state loaded in bulk
(rows locked on PostgreSQL), then written with a handful of multi-row statements inside one
savepoint. If the database refuses the batch (a constraint another writer raced us to), it is
replayed one command per savepoint, so one bad command cannot take the others down.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import DomainError, NotFound
from backend.models import EDITABLE, Device, RecordFamily, User
from backend.services import records
from backend.services.ledger import errors as ledger_errors
from backend.services.ledger import events as ledger_events
from backend.services.records import errors as record_errors
from sync import CommandRejected, Mutation
from sync import activities as activity_rules
from sync import hazards as hazard_rules
from sync import inspections as rules

from . import state as state_
from . import writes
from .state import BatchState, Current, Snapshot


@dataclass(frozen=True)
class Context:
    session: Session
    user: User
    device: Device
    now: datetime


@dataclass
class Outcome:
    mutation: Mutation
    status: str  # applied | rejected | conflict
    code: str | None = None
    message: str | None = None
    errors: dict[str, Any] | None = None
    entity: dict[str, Any] | None = None

    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "seq": self.mutation.seq,
            "id": str(self.mutation.id),
            "status": self.status,
        }
        for key in ("code", "message", "errors", "entity"):
            if getattr(self, key):
                result[key] = getattr(self, key)
        return result


@dataclass
class Effects:
    """What the decided batch will write."""

    changes: list[tuple[Snapshot, str]] = field(default_factory=list)  # (after, command name)
    amendments: list[dict[str, Any]] = field(default_factory=list)


def apply_batch(ctx: Context, mutations: list[Mutation]) -> list[Outcome]:
    try:
        with ctx.session.begin_nested():
            return _apply(ctx, mutations)
    except IntegrityError:
        if len(mutations) == 1:
            raise
    outcomes = []
    for mutation in mutations:
        try:
            with ctx.session.begin_nested():
                outcomes += _apply(ctx, [mutation])
        except IntegrityError:
            outcomes.append(
                Outcome(
                    mutation,
                    "rejected",
                    "sync.integrity",
                    "Another device changed the same record at the same time. "
                    "Pull, then save the inspection again.",
                )
            )
    return outcomes


def _apply(ctx: Context, mutations: list[Mutation]) -> list[Outcome]:
    parsed = [_parse(m) for m in mutations]
    state = _load(ctx.session, parsed)
    effects = Effects()
    outcomes = [_decide(ctx, state, effects, m, p) for m, p in zip(mutations, parsed, strict=True)]
    writes.write(ctx, state, effects)
    return outcomes


Parsed = (
    rules.InspectionSave
    | uuid.UUID
    | hazard_rules.HazardReinspect
    | activity_rules.RecordSave
    | CommandRejected
)


def _parse(mutation: Mutation) -> Parsed:
    parser: Callable[[Any], Parsed] | None = PARSERS.get(mutation.name)
    if parser is None:
        return CommandRejected(
            "sync.unknown_command",
            f"Unknown command {mutation.name!r}; this server knows "
            f"{', '.join(sorted(PARSERS))}. Update the app or drop it.",
        )
    try:
        return parser(mutation.args)
    except CommandRejected as rejected:
        return rejected


PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "inspection.save@1": rules.parse_save,
    "inspection.submit@1": rules.parse_submit,
    "hazard.reinspect@1": hazard_rules.parse_reinspect,
    activity_rules.NAME: activity_rules.parse_save,
    activity_rules.ENFORCEMENT_NAME: activity_rules.parse_enforcement_save,
}


def _load(session: Session, parsed: list[Parsed]) -> BatchState:
    saves = [p for p in parsed if isinstance(p, rules.InspectionSave)]
    ids = {p.id for p in saves} | {p for p in parsed if isinstance(p, uuid.UUID)}
    return state_.load(
        session, ids, {s.enterprise_id for s in saves}, {f["id"] for s in saves for f in s.findings}
    )


def _decide(
    ctx: Context, state: BatchState, effects: Effects, mutation: Mutation, parsed: Parsed
) -> Outcome:
    try:
        if isinstance(parsed, CommandRejected):
            raise parsed
        if isinstance(parsed, rules.InspectionSave):
            return _save(ctx, state, effects, mutation, parsed)
        if isinstance(parsed, hazard_rules.HazardReinspect):
            return _reinspect(ctx, mutation, parsed)
        if isinstance(parsed, activity_rules.RecordSave):
            return _save_activity(ctx, mutation, parsed)
        return _submit(ctx, state, effects, mutation, parsed)
    except CommandRejected as rejected:
        return Outcome(
            mutation, "rejected", rejected.code, rejected.message, rejected.errors or None
        )


def _save(
    ctx: Context,
    state: BatchState,
    effects: Effects,
    mutation: Mutation,
    save: rules.InspectionSave,
) -> Outcome:
    version = state_.checklist_version(ctx.session, save.checklist_code, save.checklist_version)
    if version is None:
        raise CommandRejected(
            "checklist.version_unknown",
            f"Checklist {save.checklist_code!r} has no version {save.checklist_version!r}. "
            "Pin a version listed by GET /api/v1/checklists.",
        )
    verdict = rules.check_against(save, version)
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
    current = state.inspections.setdefault(save.id, Current(row=None))
    _check_owner(ctx, current)
    conflict = _conflict(current, mutation)
    if conflict:
        return _amend(ctx, effects, mutation, current, save.id, conflict)
    current.content = save
    current.suggestions = {f["id"]: _suggest(f, verdict) for f in save.findings}
    current.level = verdict.level
    current.content_changed = True
    return _applied(effects, mutation, current)


def _suggest(finding: dict[str, Any], verdict: Any) -> tuple[str, str | None]:
    level, rule = rules.suggest(finding, verdict)
    return level, rule.code if rule else None


def _submit(
    ctx: Context, state: BatchState, effects: Effects, mutation: Mutation, inspection_id: uuid.UUID
) -> Outcome:
    current = state.inspections.get(inspection_id)
    if current is None or not current.exists:
        raise CommandRejected(
            "inspection.not_found",
            f"There is no inspection {inspection_id} to submit; push its inspection.save@1 first.",
        )
    _check_owner(ctx, current)
    if current.status not in EDITABLE:
        raise CommandRejected(
            "inspection.not_editable",
            f"The inspection is {current.status.value}; it cannot be submitted again.",
        )
    if current.content is None:
        assert current.row is not None
        current.content = state_.stored_content(ctx.session, current.row)
    content = current.content
    version = state_.checklist_version(
        ctx.session, content.checklist_code, content.checklist_version
    )
    assert version is not None  # it was checked when the inspection was saved
    verdict = version.evaluate({a["item"]: a["answer"] for a in content.answers})
    missing = rules.missing_for_submit(content, version, verdict)
    if missing:
        raise CommandRejected(
            "inspection.incomplete",
            "The inspection cannot go to review yet. Missing: " + "; ".join(missing) + ".",
            {"missing": missing},
        )
    current.suggestions = current.suggestions or {
        f["id"]: _suggest(f, verdict) for f in content.findings
    }
    current.level = verdict.level
    current.submit()
    return _applied(effects, mutation, current)


def _reinspect(ctx: Context, mutation: Mutation, command: hazard_rules.HazardReinspect) -> Outcome:
    """Through the ledger, one savepoint per command: a refused re-inspection leaves nothing.
    Its photos are uploaded after the push, so they are not required to exist yet."""
    try:
        with ctx.session.begin_nested():
            entry = ledger_events.record(
                ctx.session,
                ctx.user,
                command.hazard_id,
                command.event(),
                now=ctx.now,
                device_id=ctx.device.id,
                check_photos=False,
            )
    except DomainError as exc:
        raise CommandRejected(_ledger_code(exc), exc.message, exc.errors) from None
    return Outcome(
        mutation,
        "applied",
        entity={"type": "hazard", "id": str(entry.id), "version": entry.version},
    )


def _save_activity(ctx: Context, mutation: Mutation, command: activity_rules.RecordSave) -> Outcome:
    """Through the records service, one savepoint per command, checked exactly as over HTTP.
    Its photos and documents are uploaded after the push, so they need not exist yet."""
    try:
        with ctx.session.begin_nested():
            record, _ = records.save_offline(
                ctx.session,
                ctx.user,
                RecordFamily(command.family),
                ctx.device.id,
                command.id,
                dict(command.record),
                base_version=mutation.base_version,
                reason=command.reason,
            )
    except record_errors.RecordStale as exc:
        return Outcome(mutation, "conflict", exc.code, exc.message + " Pull, then save again.")
    except DomainError as exc:
        code = getattr(exc, "code", "record.invalid")
        raise CommandRejected(code, exc.message, exc.errors) from None
    return Outcome(
        mutation,
        "applied",
        entity={"type": command.family, "id": str(record.id), "version": record.version},
    )


def _ledger_code(exc: DomainError) -> str:
    if isinstance(exc, ledger_errors.LedgerError):
        return exc.code
    if isinstance(exc, NotFound):
        return "hazard.not_found"
    return "hazard.invalid"


def _check_owner(ctx: Context, current: Current) -> None:
    row = current.row
    if row is not None and (row.unit_id != ctx.user.unit_id or row.inspector_id != ctx.user.id):
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
    ctx: Context,
    effects: Effects,
    mutation: Mutation,
    current: Current,
    inspection_id: uuid.UUID,
    code: str,
) -> Outcome:
    amendment_id = uuid.uuid4()
    effects.amendments.append(
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


def _applied(effects: Effects, mutation: Mutation, current: Current) -> Outcome:
    current.version += 1
    current.edited_version = current.version
    effects.changes.append((current.snapshot(), mutation.name))
    assert current.content is not None
    return Outcome(
        mutation,
        "applied",
        entity={"type": "inspection", "id": str(current.content.id), "version": current.version},
    )

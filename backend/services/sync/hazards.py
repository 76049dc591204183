"""Deciding `hazard.reinspect@1`: the ledger's own checks, the new state in memory.

The ledger decides the event as it would for the web console (`ledger.events.decide`); the
decided event is written with the rest of the batch (`writes`). Its photos are uploaded after the
push, so they are not required to exist yet.
"""

from __future__ import annotations

from backend.errors import DomainError, NotFound
from backend.services.ledger import errors as ledger_errors
from backend.services.ledger import events as ledger_events
from sync import CommandRejected, Mutation
from sync.hazards import HazardReinspect

from .batch import Batch, Outcome, applied


def decide_reinspect(batch: Batch, mutation: Mutation, command: HazardReinspect) -> Outcome:
    ctx = batch.ctx
    try:
        decided = ledger_events.decide(
            ctx.session,
            ctx.user,
            command.hazard_id,
            command.event(),
            now=ctx.now,
            check_photos=False,
        )
    except DomainError as exc:
        raise CommandRejected(_ledger_code(exc), exc.message, exc.errors) from None
    batch.effects.hazard_events.append(decided)
    return applied(mutation, "hazard", decided.entry.id, decided.entry.version)


def _ledger_code(exc: DomainError) -> str:
    if isinstance(exc, ledger_errors.LedgerError):
        return exc.code
    if isinstance(exc, NotFound):
        return "hazard.not_found"
    return "hazard.invalid"

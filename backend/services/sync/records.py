"""Deciding `activity.save@1` and `enforcement.save@1`: through the records service.

The one exception to "deciding never writes" (docs/decision-offline-commands.md): a record is
checked and written by `services.records.save_offline` in a savepoint of its own, exactly as over
HTTP, so a refused record leaves nothing and the rest of the batch goes on. Its photos and
documents are uploaded after the push, so they need not exist yet. Splitting the records service
into decide and write, as the ledger's events are, would bring it under the batch writers.
"""

from __future__ import annotations

from backend.errors import DomainError
from backend.models import RecordFamily
from backend.services import records
from backend.services.records import errors as record_errors
from sync import CommandRejected, Mutation
from sync import activities as activity_rules

from .batch import Batch, Outcome


def decide_record_save(
    batch: Batch, mutation: Mutation, command: activity_rules.RecordSave
) -> Outcome:
    ctx = batch.ctx
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
        raise CommandRejected(exc.code, exc.message, exc.errors) from None
    return Outcome(
        mutation,
        "applied",
        entity={"type": command.family, "id": str(record.id), "version": record.version},
    )

"""Applying a batch of commands: decide every outcome in order, then write in bulk.

Each command is all or nothing. The batch is decided in memory against state loaded in bulk
(rows locked on PostgreSQL), then written with a handful of multi-row statements inside one
savepoint. If the database refuses the batch (a constraint another writer raced us to), it is
replayed one command per savepoint, so one bad command cannot take the others down.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError

from backend.errors import DomainError
from sync import CommandRejected, Mutation, text

from . import state, writes
from .batch import Batch, Context, Outcome, Reads
from .commands import COMMANDS

log = logging.getLogger(__name__)

# Tables of the server's own bookkeeping. No command's content can break their constraints
# (ids come from sequences, command ids are checked first, the device row is locked), so a
# violation there is the server's fault, e.g. a sequence rewound by PostgreSQL's crash recovery
# (docs/decision-postgres-template-copies.md). Rejecting the command would make the tablet drop
# a good record for good; the push fails instead, nothing is written, and the tablet resends.
BOOKKEEPING = ("sync_changes", "sync_commands", "outbox", "audit_log")


class BookkeepingRefused(DomainError):
    status, code = 503, "sync.retry_later"


def _bookkeeping(exc: IntegrityError) -> bool:
    diag = getattr(exc.orig, "diag", None)  # psycopg names the table
    table = getattr(diag, "table_name", None)
    if table is not None:
        return table in BOOKKEEPING
    message = str(exc.orig)  # SQLite: "UNIQUE constraint failed: sync_changes.id"
    return any(f" {name}." in message for name in BOOKKEEPING)


def _refused(exc: IntegrityError) -> BookkeepingRefused:
    log.error("push refused by the server's own bookkeeping, asking to resend: %s", exc.orig)
    return BookkeepingRefused(
        "The server could not record this push; nothing was saved. Send it again shortly.",
        headers={"Retry-After": "2"},
    )


def apply_batch(ctx: Context, mutations: list[Mutation]) -> list[Outcome]:
    try:
        with ctx.session.begin_nested():
            return _apply(ctx, mutations)
    except IntegrityError as exc:
        if _bookkeeping(exc):
            raise _refused(exc) from exc
        log.warning("push batch refused by the database, replaying one by one: %s", exc.orig)
        if len(mutations) == 1:
            raise
    outcomes = []
    for mutation in mutations:
        try:
            with ctx.session.begin_nested():
                outcomes += _apply(ctx, [mutation])
        except IntegrityError as exc:
            if _bookkeeping(exc):
                raise _refused(exc) from exc
            log.warning(
                "command seq %s (%s) rejected sync.integrity: %s",
                mutation.seq,
                mutation.name,
                exc.orig,
            )
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
    reads = [COMMANDS[m.name].reads(p) for m, p in zip(mutations, parsed, strict=True) if _ok(p)]
    batch = Batch(ctx, _load(ctx, reads))
    with ctx.session.no_autoflush:  # deciding never writes; `writes` does, once
        outcomes = [_decide(batch, m, p) for m, p in zip(mutations, parsed, strict=True)]
    writes.write(batch)
    return outcomes


def _ok(parsed: Any) -> bool:
    return not isinstance(parsed, CommandRejected)


def _parse(mutation: Mutation) -> Any:
    refused = text.command_problems(mutation.name, mutation.args)
    if refused is not None:
        return refused
    command = COMMANDS.get(mutation.name)
    if command is None:
        return CommandRejected(
            "sync.unknown_command",
            f"Unknown command {mutation.name!r}; this server knows "
            f"{', '.join(sorted(COMMANDS))}. Update the app or drop it.",
        )
    try:
        return command.parse(mutation.args)
    except CommandRejected as rejected:
        return rejected


def _load(ctx: Context, reads: list[Reads]) -> state.BatchState:
    return state.load(
        ctx.session,
        set().union(*(r.inspections for r in reads)),
        set().union(*(r.enterprises for r in reads)),
        set().union(*(r.findings for r in reads)),
    )


def _decide(batch: Batch, mutation: Mutation, parsed: Any) -> Outcome:
    try:
        if isinstance(parsed, CommandRejected):
            raise parsed
        return COMMANDS[mutation.name].decide(batch, mutation, parsed)
    except CommandRejected as rejected:
        return Outcome(
            mutation, "rejected", rejected.code, rejected.message, rejected.errors or None
        )

"""Applying a batch of commands: decide every outcome in order, then write in bulk.

Each command is all or nothing. The batch is decided in memory against state loaded in bulk
(rows locked on PostgreSQL), then written with a handful of multi-row statements inside one
savepoint. If the database refuses the batch (a constraint another writer raced us to), it is
replayed one command per savepoint, so one bad command cannot take the others down.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from sync import CommandRejected, Mutation, text

from . import state, writes
from .batch import Batch, Context, Outcome, Reads
from .commands import COMMANDS


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

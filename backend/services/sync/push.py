"""POST /sync/push: replay what was applied, apply what is next, stop at a gap.

The device row is locked for the whole push, so two pushes from one tablet (a retry racing the
original) are applied one after the other, and `last_seq` moves in the same transaction as the
commands' effects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.models import SyncCommand, User, utcnow
from backend.services import bulk
from sync import MAX_COMMAND_NAME, Mutation, SeqReused, StoredCommand, plan_push, text

from . import devices
from .apply import apply_batch
from .batch import Context, Outcome


class SeqReusedError(Conflict):
    status, code = 409, "sync.seq_reused"


class PayloadMismatch(Conflict):
    status, code = 409, "sync.payload_mismatch"


@dataclass(frozen=True)
class PushResult:
    applied_through: int
    results: list[dict[str, Any]]
    expected_seq: int | None


def push(
    session: Session,
    user: User,
    device_id: uuid.UUID,
    mutations: list[Mutation],
    *,
    now: datetime | None = None,
) -> PushResult:
    now = now or utcnow()
    device = devices.own_device(session, user, device_id, lock=True)
    stored = _stored(session, device_id, [m.seq for m in mutations if m.seq <= device.last_seq])
    try:
        plan = plan_push(device.last_seq, mutations, {s.seq: s for s in stored.values()})
    except SeqReused as exc:
        raise _conflict(exc) from None
    taken = _taken(session, plan.to_apply)
    outcomes = apply_batch(
        Context(session, user, device, now), [m for m in plan.to_apply if m.seq not in taken]
    )
    outcomes = sorted(outcomes + list(taken.values()), key=lambda o: o.mutation.seq)
    _store(session, device_id, outcomes, now, {seq: _substitute(device_id, seq) for seq in taken})
    if outcomes:
        device.last_seq = outcomes[-1].mutation.seq
    device.last_seen_at = now
    fresh = {o.mutation.seq: o.result() for o in outcomes}
    results = [o.result() for o in outcomes]
    results += [_replayed(m, stored, fresh) for m in plan.duplicates]
    results.sort(key=lambda r: r["seq"])  # stable: a first send comes before its repeat
    return PushResult(device.last_seq, results, plan.expected_seq)


def _stored(session: Session, device_id: uuid.UUID, seqs: list[int]) -> dict[int, Stored]:
    if not seqs:
        return {}
    rows = session.scalars(
        select(SyncCommand).where(SyncCommand.device_id == device_id, SyncCommand.seq.in_(seqs))
    )
    return {r.seq: Stored(r.seq, _sent_id(r), r.payload_hash, r.result) for r in rows}


# Command ids are unique across all devices (a database constraint). A command whose id is
# already taken (by another device, or by another seq of this one) is rejected and still
# advances seq; its row is stored under a substitute id derived from (device, seq), and the id
# the tablet sent is kept in its result, so a replay is recognised as one.
ID_TAKEN = "sync.command_id_taken"
_SUBSTITUTES = uuid.UUID("6b1f3c1e-0d4e-4f5a-9a51-2f6f9b1d7c01")


def _taken(session: Session, mutations: list[Mutation]) -> dict[int, Outcome]:
    ids = [m.id for m in mutations]
    used = set(
        session.scalars(select(SyncCommand.command_id).where(SyncCommand.command_id.in_(ids)))
    )
    taken: dict[int, Outcome] = {}
    for mutation in mutations:
        if mutation.id in used:
            taken[mutation.seq] = Outcome(
                mutation,
                "rejected",
                ID_TAKEN,
                f"Command id {mutation.id} was already used by another command. Give every "
                "command a fresh UUID; this one was not applied.",
            )
        used.add(mutation.id)
    return taken


def _substitute(device_id: uuid.UUID, seq: int) -> uuid.UUID:
    return uuid.uuid5(_SUBSTITUTES, f"{device_id}/{seq}")


def _sent_id(row: SyncCommand) -> uuid.UUID:
    if row.result.get("code") == ID_TAKEN:
        return uuid.UUID(row.result["id"])
    return row.command_id


@dataclass(frozen=True)
class Stored(StoredCommand):
    result: dict[str, Any]


def _replayed(
    mutation: Mutation, stored: dict[int, Stored], fresh: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    original = stored[mutation.seq].result if mutation.seq in stored else fresh[mutation.seq]
    return {**original, "status": "duplicate", "original_status": original["status"]}


def _store(
    session: Session,
    device_id: uuid.UUID,
    outcomes: list[Outcome],
    now: datetime,
    substitutes: dict[int, uuid.UUID],
) -> None:
    if outcomes:
        bulk.insert_rows(
            session,
            SyncCommand.__table__,
            [
                {
                    "device_id": device_id,
                    "seq": o.mutation.seq,
                    "command_id": substitutes.get(o.mutation.seq, o.mutation.id),
                    "name": text.escape(o.mutation.name)[:MAX_COMMAND_NAME],
                    "payload_hash": o.mutation.hash,
                    "status": o.status,
                    "result": o.result(),
                    "applied_at": now,
                }
                for o in outcomes
            ],
        )


def _conflict(exc: SeqReused) -> Conflict:
    if exc.same_id:
        return PayloadMismatch(
            f"Command seq {exc.seq} was sent before with the same id but different content. "
            "A command never changes once numbered: give a new edit the next seq.",
            errors={"seq": exc.seq},
        )
    return SeqReusedError(
        f"seq {exc.seq} was already used by another command. Number new commands from "
        "applied_through + 1; never reuse a seq.",
        errors={"seq": exc.seq},
    )

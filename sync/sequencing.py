"""Which mutations of a push to apply, which are replays, and where a gap stops the batch.

The device numbers commands 1, 2, 3 ... with no gaps. The server stores the last applied seq in
the same transaction as the effects, so a replay of any seq at or below it returns the stored
result, and the next command to apply is always last_seq + 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sync.protocol import Mutation


@dataclass(frozen=True)
class StoredCommand:
    seq: int
    id: uuid.UUID
    hash: str


class SeqReused(Exception):
    """A seq already used by a command with another id, or replayed with other content."""

    def __init__(self, seq: int, *, same_id: bool) -> None:
        self.seq = seq
        self.same_id = same_id
        what = "with different content" if same_id else "by another command id"
        super().__init__(f"seq {seq} was already used {what}")


@dataclass(frozen=True)
class Plan:
    duplicates: list[Mutation] = field(default_factory=list)
    to_apply: list[Mutation] = field(default_factory=list)
    expected_seq: int | None = None  # set when a gap stopped the batch


def plan_push(
    last_seq: int, mutations: Sequence[Mutation], stored: Mapping[int, StoredCommand]
) -> Plan:
    """Sort by seq, split replays from new commands, stop at the first gap.

    `stored` must hold the stored commands for every seq <= last_seq in the batch. Raises
    SeqReused before anything is applied when a seq comes back with another id or content.
    """
    plan = Plan()
    seen: dict[int, Mutation] = {}
    next_seq = last_seq + 1
    for mutation in sorted(mutations, key=lambda m: m.seq):
        earlier = seen.get(mutation.seq) or _as_mutation(stored.get(mutation.seq))
        if earlier is not None:
            _check_same(earlier, mutation)
            plan.duplicates.append(mutation)
            continue
        if mutation.seq <= last_seq:
            raise SeqReused(mutation.seq, same_id=False)  # stored history must cover it
        if mutation.seq != next_seq:
            return Plan(plan.duplicates, plan.to_apply, expected_seq=next_seq)
        plan.to_apply.append(mutation)
        seen[mutation.seq] = mutation
        next_seq += 1
    return plan


def _as_mutation(stored: StoredCommand | None) -> Mutation | None:
    if stored is None:
        return None
    return Mutation(stored.seq, stored.id, "", {}, None, stored.hash)


def _check_same(earlier: Mutation, mutation: Mutation) -> None:
    if earlier.id != mutation.id:
        raise SeqReused(mutation.seq, same_id=False)
    if earlier.hash != mutation.hash:
        raise SeqReused(mutation.seq, same_id=True)

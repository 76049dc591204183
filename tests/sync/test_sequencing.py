"""Push planning: which commands of a push to apply, which are replays, where a gap stops it."""

from __future__ import annotations

import uuid

import pytest

from sync import Mutation, SeqReused, StoredCommand, plan_push


def command(seq: int, **args: object) -> Mutation:
    return Mutation.create(seq, uuid.uuid4(), "inspection.submit@1", {"id": "x", **args})


def stored(mutation: Mutation) -> StoredCommand:
    return StoredCommand(mutation.seq, mutation.id, mutation.hash)


def test_new_commands_are_applied_in_seq_order_whatever_order_they_came_in() -> None:
    first, second, third = command(1), command(2), command(3)
    plan = plan_push(0, [third, first, second], {})
    assert plan.to_apply == [first, second, third]
    assert plan.duplicates == []
    assert plan.expected_seq is None


def test_a_gap_stops_the_batch_and_names_the_seq_to_send_next() -> None:
    first, fourth = command(1), command(4)
    plan = plan_push(0, [first, fourth], {})
    assert plan.to_apply == [first]
    assert plan.expected_seq == 2


def test_a_command_at_or_below_last_seq_is_a_replay_of_the_stored_one() -> None:
    earlier, new = command(5), command(6)
    plan = plan_push(5, [earlier, new], {5: stored(earlier)})
    assert plan.duplicates == [earlier]
    assert plan.to_apply == [new]


def test_a_repeat_inside_one_batch_is_applied_once() -> None:
    first = command(1)
    plan = plan_push(0, [first, first], {})
    assert plan.to_apply == [first]
    assert plan.duplicates == [first]


def test_a_stored_seq_sent_with_another_id_is_refused_before_anything_applies() -> None:
    earlier = command(1)
    renumbered = Mutation.create(1, uuid.uuid4(), earlier.name, earlier.args)
    with pytest.raises(SeqReused) as refused:
        plan_push(1, [renumbered, command(2)], {1: stored(earlier)})
    assert (refused.value.seq, refused.value.same_id) == (1, False)


def test_the_same_id_with_other_content_is_a_payload_mismatch() -> None:
    earlier = command(1)
    changed = Mutation.create(1, earlier.id, earlier.name, {"id": "y"})
    with pytest.raises(SeqReused) as refused:
        plan_push(1, [changed], {1: stored(earlier)})
    assert refused.value.same_id is True

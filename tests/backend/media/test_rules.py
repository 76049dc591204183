"""Small rules of photo evidence that need no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.services.media import locks
from backend.services.media.records import Available, capture_gap

START = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
END = START + timedelta(hours=1, minutes=30)


@pytest.mark.parametrize(
    ("taken", "gap"),
    [
        (START + timedelta(minutes=10), 0),
        (START, 0),
        (END, 0),
        (START - timedelta(hours=2), 7200),
        (END + timedelta(seconds=90), 90),
    ],
)
def test_the_capture_gap_is_the_distance_outside_the_inspection(taken: datetime, gap: int) -> None:
    assert capture_gap(taken, START, END) == gap


def test_the_capture_gap_is_unknown_without_either_time() -> None:
    assert capture_gap(None, START, END) is None
    assert capture_gap(START, None, None) is None


def test_one_inspection_time_is_enough() -> None:
    assert capture_gap(START + timedelta(hours=1), START, None) == 3600
    assert capture_gap(START, None, END) == 5400


def test_what_a_record_awaits_is_sorted_and_excludes_what_the_unit_has() -> None:
    available = Available({"b" * 64: None})
    assert available.awaiting(["c" * 64, "b" * 64, "a" * 64, "c" * 64]) == ["a" * 64, "c" * 64]


def test_lock_keys_are_signed_64_bit_integers() -> None:
    assert locks.key("0" * 64) == 0
    assert locks.key("7" + "f" * 63) == 2**63 - 1
    assert locks.key("f" * 64) == -1
    assert locks.key("8" + "0" * 63) == -(2**63)

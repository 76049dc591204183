"""The command hash that tells a replay from a changed command."""

from __future__ import annotations

import hashlib
from typing import Any

from sync import payload_hash

ARGS: dict[str, Any] = {
    "id": "7d4f3c1e-0b7a-4c55-9a53-2f0e1d1b9a10",
    "checklist": {"version": "2023.1", "code": "gas"},
    "location": {"lat": 26.07, "lon": 119.296, "accuracy_m": 8},
    "answers": [{"item": "gas.1", "answer": "no", "note": "未设置安全警示标志"}],
}


def test_the_hash_is_of_the_sorted_compact_utf8_json_of_the_command() -> None:
    # Keys sorted at every level, no spaces, text as UTF-8, numbers as the json module writes
    # them: the form stored hashes were made with, so it may never change.
    canonical = '{"args":{"a":"未设置","b":[1,2.5,1e-05,null,true]},"base_version":3,"name":"x@1"}'
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert payload_hash("x@1", {"b": [1, 2.5, 1e-05, None, True], "a": "未设置"}, 3) == expected


def test_any_json_a_tablet_can_send_has_a_hash() -> None:
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    odd = {"big": 2**70, "tiny": 1e-7, "deep": deep, "nan": float("nan")}
    assert len(payload_hash("inspection.save@1", odd, 2**64)) == 64


def test_key_order_does_not_matter_but_content_does() -> None:
    reordered = dict(reversed(list(ARGS.items())))
    assert payload_hash("inspection.save@1", reordered, None) == payload_hash(
        "inspection.save@1", ARGS, None
    )
    changed = {**ARGS, "answers": [{"item": "gas.1", "answer": "yes", "note": None}]}
    assert payload_hash("inspection.save@1", changed, None) != payload_hash(
        "inspection.save@1", ARGS, None
    )
    assert payload_hash("inspection.save@1", ARGS, 1) != payload_hash("inspection.save@1", ARGS, 2)

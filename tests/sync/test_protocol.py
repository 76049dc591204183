"""The command hash that tells a replay from a changed command."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sync import payload_hash

ARGS: dict[str, Any] = {
    "id": "7d4f3c1e-0b7a-4c55-9a53-2f0e1d1b9a10",
    "checklist": {"version": "2023.1", "code": "gas"},
    "location": {"lat": 26.07, "lon": 119.296, "accuracy_m": 8, "altitude": None},
    "answers": [{"item": "gas.1", "answer": "no", "note": "未设置安全警示标志"}],
    "findings": [{"items": ["gas.1"], "deadline": "immediate", "photos": []}],
    "flags": [True, False, 0, -1, 12345678901234],
}


def _json_module_hash(name: str, args: Any, base_version: int | None) -> str:
    """The canonical form the protocol promised before it moved to orjson."""
    canonical = json.dumps(
        {"name": name, "args": args, "base_version": base_version},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_hash_is_the_sorted_compact_utf8_json_of_the_command() -> None:
    assert payload_hash("inspection.save@1", ARGS, 3) == _json_module_hash(
        "inspection.save@1", ARGS, 3
    )
    assert payload_hash("inspection.submit@1", {"id": ARGS["id"]}, None) == _json_module_hash(
        "inspection.submit@1", {"id": ARGS["id"]}, None
    )


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

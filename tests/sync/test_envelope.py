"""The limits of one push, checked before any command is looked at."""

from __future__ import annotations

from sync import LIMITS, MAX_PUSH_BYTES, MAX_PUSH_MUTATIONS, PROTOCOL_VERSION, check_push


def test_a_push_within_the_limits_may_be_applied() -> None:
    assert check_push(PROTOCOL_VERSION, MAX_PUSH_MUTATIONS, MAX_PUSH_BYTES) is None


def test_too_many_commands_is_refused_with_the_limits_to_split_by() -> None:
    refused = check_push(PROTOCOL_VERSION, MAX_PUSH_MUTATIONS + 1, 100)
    assert refused is not None
    assert refused.code == "sync.too_large"
    assert refused.errors == LIMITS == {"max_mutations": 200, "max_bytes": 2 * 1024 * 1024}


def test_too_many_bytes_is_refused_even_when_the_protocol_is_wrong_too() -> None:
    refused = check_push(PROTOCOL_VERSION + 1, 1, MAX_PUSH_BYTES + 1)
    assert refused is not None
    assert refused.code == "sync.too_large"


def test_another_protocol_version_is_refused_with_the_one_spoken_here() -> None:
    refused = check_push(PROTOCOL_VERSION + 1, 1, 100)
    assert refused is not None
    assert refused.code == "sync.protocol_unsupported"
    assert refused.errors == {"protocol": [PROTOCOL_VERSION]}

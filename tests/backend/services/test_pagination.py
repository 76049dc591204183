"""Cursors: what the server issues it can read back; anything else is refused, never a 500."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import InvalidCursor
from backend.services.pagination import MAX_CURSOR, decode, encode


def test_a_cursor_for_the_longest_name_fits_the_limit() -> None:
    values = ["燃" * 200, str(uuid.uuid4())]
    cursor = encode(values)
    assert len(cursor) <= MAX_CURSOR
    assert decode(cursor, 2) == values


def test_a_cursor_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        decode(encode(["x" * MAX_CURSOR]), 1)


def test_a_deeply_nested_cursor_is_refused() -> None:
    import base64

    with pytest.raises(InvalidCursor):
        decode(base64.urlsafe_b64encode(b"[" * 3000).decode(), 1)

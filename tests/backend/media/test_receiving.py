"""Reading an upload's body: all of it, once, and never more than the limit."""

from __future__ import annotations

import io

import pytest

from backend.services.media.receiving import Limits, receive
from media import TooLarge

LIMITS = Limits(max_bytes=1000, max_pixels=10)


class ReadOnly:
    """A stream with only read(), as some WSGI servers give."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


class Trickle(io.BytesIO):
    """A stream that hands over at most 7 bytes a call, as a slow network does."""

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return super().readinto(buffer[:7])


@pytest.mark.parametrize("stream", [io.BytesIO, Trickle, ReadOnly])
@pytest.mark.parametrize("length", [None, 999])
def test_the_whole_body_is_read(stream: type, length: int | None) -> None:
    data = bytes(range(256)) * 3 + b"x" * 231
    assert receive(stream(data), LIMITS, length) == data


def test_a_body_shorter_than_declared_is_what_arrived() -> None:
    assert receive(io.BytesIO(b"abc"), LIMITS, 10) == b"abc"  # its hash will not match


def test_a_body_over_the_limit_is_refused() -> None:
    with pytest.raises(TooLarge):
        receive(io.BytesIO(b"x" * 1001), LIMITS)

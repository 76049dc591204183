"""Keyset pagination with opaque cursors: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.errors import InvalidCursor

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode(values: Sequence[Any]) -> str:
    raw = json.dumps([str(v) for v in values], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Room for the longest keys (a 2000-character unit path); anything longer is refused unread.
MAX_CURSOR = 4096


def decode(cursor: str, width: int) -> list[str]:
    values: Any = None
    if len(cursor) <= MAX_CURSOR:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            values = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            values = None
    if not _flat_list(values, width):
        raise _invalid()
    return [str(v) for v in values]


def _flat_list(values: Any, width: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == width
        and all(isinstance(v, str | int | float) for v in values)
    )


def _invalid() -> InvalidCursor:
    return InvalidCursor(
        "The cursor is not one this server issued. Start again without a cursor.",
        errors={"cursor": ["Not a valid cursor."]},
    )


def paginate(
    session: Session,
    query: Select[tuple[T]],
    keys: Sequence[InstrumentedAttribute[Any]],
    *,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """Order by `keys` (the last must be unique) and return one page after `cursor`."""
    if cursor:
        values = decode(cursor, len(keys))
        converted = [_convert(key, value) for key, value in zip(keys, values, strict=True)]
        query = query.where(tuple_(*keys) > tuple_(*converted))
    rows = list(session.scalars(query.order_by(*keys).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode([getattr(rows[-1], k.key) for k in keys]) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)


def _convert(key: InstrumentedAttribute[Any], value: str) -> Any:
    try:
        python_type = key.type.python_type
        return python_type(value)
    except (ValueError, TypeError, NotImplementedError):
        raise _invalid() from None

"""Opaque pull cursors: which database, which bucket, and the last (txid, id) served."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

CURSOR_VERSION = 1


class CursorInvalid(Exception):
    pass


@dataclass(frozen=True)
class Cursor:
    database: str
    bucket: str
    txid: int
    id: int


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(
        [CURSOR_VERSION, cursor.database, cursor.bucket, cursor.txid, cursor.id],
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, database, bucket, txid, row_id = json.loads(raw)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise CursorInvalid("not a cursor this server issued") from None
    valid = (
        version == CURSOR_VERSION
        and isinstance(database, str)
        and isinstance(bucket, str)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (txid, row_id))
    )
    if not valid:
        raise CursorInvalid("not a cursor this server issued")
    return Cursor(database, bucket, txid, row_id)

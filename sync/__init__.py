"""The offline protocol as plain Python: envelopes, sequencing and idempotency rules, command
argument validation and cursor encoding. No Flask, no SQLAlchemy."""

from sync.cursor import Cursor, CursorInvalid, decode_cursor, encode_cursor
from sync.protocol import (
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    PROTOCOL_VERSION,
    CommandRejected,
    Mutation,
    payload_hash,
)
from sync.sequencing import Plan, SeqReused, StoredCommand, plan_push

__all__ = [
    "MAX_PUSH_BYTES",
    "MAX_PUSH_MUTATIONS",
    "PROTOCOL_VERSION",
    "CommandRejected",
    "Cursor",
    "CursorInvalid",
    "Mutation",
    "Plan",
    "SeqReused",
    "StoredCommand",
    "decode_cursor",
    "encode_cursor",
    "payload_hash",
    "plan_push",
]

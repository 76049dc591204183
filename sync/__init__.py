"""The offline protocol as plain Python: envelopes, sequencing and idempotency rules, command
argument validation and cursor encoding. No Flask, no SQLAlchemy."""

from sync.cursor import Cursor, CursorInvalid, decode_cursor, encode_cursor
from sync.protocol import (
    LIMITS,
    MAX_BASE_VERSION,
    MAX_BUCKET_NAME,
    MAX_COMMAND_NAME,
    MAX_PULL_LIMIT,
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    PROTOCOL_VERSION,
    PULL_LIMIT,
    CommandRejected,
    Mutation,
    Refused,
    check_push,
    payload_hash,
)
from sync.sequencing import Plan, SeqReused, StoredCommand, plan_push

__all__ = [
    "LIMITS",
    "MAX_BASE_VERSION",
    "MAX_BUCKET_NAME",
    "MAX_COMMAND_NAME",
    "MAX_PULL_LIMIT",
    "MAX_PUSH_BYTES",
    "MAX_PUSH_MUTATIONS",
    "PROTOCOL_VERSION",
    "PULL_LIMIT",
    "CommandRejected",
    "Cursor",
    "CursorInvalid",
    "Mutation",
    "Plan",
    "Refused",
    "SeqReused",
    "StoredCommand",
    "check_push",
    "decode_cursor",
    "encode_cursor",
    "payload_hash",
    "plan_push",
]

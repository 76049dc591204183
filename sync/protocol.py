"""Envelope constants and the shape of one mutation."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
MAX_PUSH_MUTATIONS = 200
MAX_PUSH_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Mutation:
    """One numbered command from a device."""

    seq: int
    id: uuid.UUID
    name: str
    args: Mapping[str, Any]
    base_version: int | None = None
    hash: str = field(default="", compare=False)

    @classmethod
    def create(
        cls,
        seq: int,
        id: uuid.UUID,
        name: str,
        args: Mapping[str, Any],
        base_version: int | None = None,
    ) -> Mutation:
        return cls(seq, id, name, args, base_version, payload_hash(name, args, base_version))


def payload_hash(name: str, args: Mapping[str, Any], base_version: int | None) -> str:
    """The identity of a command's content: same id and same hash is a replay."""
    # The json module, not a faster encoder: its output is the definition of the canonical
    # form (floats such as 1e-05, NaN, integers of any size), and a hash that changed with the
    # encoder would turn a retried command into a payload mismatch.
    canonical = json.dumps(
        {"name": name, "args": args, "base_version": base_version},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    ).encode(errors="surrogatepass")  # a lone surrogate still hashes; the command is rejected
    return hashlib.sha256(canonical).hexdigest()


class CommandRejected(Exception):
    """A command that can never succeed: recorded as `rejected`, and the seq still advances."""

    def __init__(self, code: str, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = dict(errors or {})

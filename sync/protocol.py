"""The envelope: its limits, the checks on a push as a whole, and the shape of one mutation."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
MAX_PUSH_MUTATIONS = 200  # commands in one push
MAX_PUSH_BYTES = 2 * 1024 * 1024  # bytes of one push's body
MAX_COMMAND_NAME = 80  # characters of a command's versioned name
MAX_BASE_VERSION = 2**31 - 1  # record versions are 32-bit integers
PULL_LIMIT = 500  # changes in one pull reply, unless the device asks for another number
MAX_PULL_LIMIT = 2000
MAX_BUCKET_NAME = 60  # "unit:<uuid>" is 41
# What a push refused for its size reports, so the tablet can split it.
LIMITS = {"max_mutations": MAX_PUSH_MUTATIONS, "max_bytes": MAX_PUSH_BYTES}


@dataclass(frozen=True)
class Refused:
    """A push refused as a whole, before any of its commands is looked at."""

    code: str  # sync.protocol_unsupported | sync.too_large
    message: str
    errors: Mapping[str, Any]


def check_push(protocol: int, mutations: int, size: int) -> Refused | None:
    """Whether a push of `mutations` commands in `size` bytes, speaking `protocol`, may be
    applied at all; None when it may."""
    if size > MAX_PUSH_BYTES:
        return Refused(
            "sync.too_large",
            f"A push may carry at most {MAX_PUSH_BYTES} bytes; send fewer commands per push.",
            LIMITS,
        )
    if protocol != PROTOCOL_VERSION:
        return Refused(
            "sync.protocol_unsupported",
            f"This server speaks protocol {PROTOCOL_VERSION}, not {protocol}. Update the app.",
            {"protocol": [PROTOCOL_VERSION]},
        )
    if mutations > MAX_PUSH_MUTATIONS:
        return Refused(
            "sync.too_large",
            f"A push may carry at most {MAX_PUSH_MUTATIONS} commands; "
            "send the rest in the next push.",
            LIMITS,
        )
    return None


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

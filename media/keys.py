"""Content addressing for photo evidence: SHA-256 hashes and the object keys built from them.

This is the leaf module of the media domain (no Pillow, no boto3), so :class:`MediaError`, the
base of every media domain error, lives here too.
"""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from media.store import validate_key

__all__ = [
    "ORIGINAL",
    "InvalidHash",
    "MediaError",
    "content_key",
    "sha256_of",
    "validate_kind",
    "validate_sha256",
]

ORIGINAL = "original"
"""The kind of the uploaded bytes themselves; every other kind is a derivative."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CHUNK = 1024 * 1024


class MediaError(Exception):
    """A photo or its address was refused; the message says why and what to do."""


class InvalidHash(MediaError):
    """A string that should be a SHA-256 hex digest is not one."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 80 else f"{self.value[:77]}..."
        return (
            f"{shown!r} is not a SHA-256 hash: send the 64 lowercase hexadecimal digits "
            "of the SHA-256 of the file's bytes"
        )


def validate_sha256(value: str) -> str:
    """Return ``value`` if it is 64 lowercase hex digits, else raise :class:`InvalidHash`.

    Uppercase is refused rather than folded: the hash is a key, and one photo must have
    exactly one spelling of it.
    """
    if not _SHA256.fullmatch(value):
        raise InvalidHash(value)
    return value


def validate_kind(kind: str) -> str:
    """Return ``kind`` if it can name a derivative (``thumbnail``, ``display``...) or is
    :data:`ORIGINAL`; raise ``ValueError`` otherwise (kinds come from code, not from users)."""
    if not _KIND.fullmatch(kind):
        raise ValueError(
            f"{kind!r} is not a media kind: use 1-32 characters of a-z, 0-9 and _, "
            "starting with a letter"
        )
    return kind


def content_key(sha256_hex: str, kind: str = ORIGINAL) -> str:
    """The object-store key of a photo's original or one of its derivatives.

    ``originals/ab/cd/<sha256>`` keeps the uploaded bytes as they came (their content type is in
    the database record); ``derivatives/<kind>/ab/cd/<sha256>.jpg`` holds the JPEG made from it.
    Two levels of fan-out keep any one directory of the local store small.
    """
    digest = validate_sha256(sha256_hex)
    fan_out = f"{digest[:2]}/{digest[2:4]}/{digest}"
    if validate_kind(kind) == ORIGINAL:
        return validate_key(f"originals/{fan_out}")
    return validate_key(f"derivatives/{kind}/{fan_out}.jpg")


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """The SHA-256 (lowercase hex) and size of everything ``stream`` yields from where it is.

    Reads in 1 MiB chunks, so any size hashes in constant memory; the stream is left open.
    """
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size

"""Taking uploaded bytes in: spooled to a temporary file while hashed, then checked.

The body is read once, in chunks, straight to disk: a 30 MB photo is never held in memory while
it arrives, and nothing reaches the object store before its hash matches.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, BinaryIO

from media import ImageInfo, TooLarge, inspect_image

from .errors import MediaHashMismatch

_CHUNK = 1024 * 1024
# EXIF keeps wall-clock time without a zone; devices that did not record their offset are read
# as China Standard Time, which is where this service's tablets are.
ASSUMED_ZONE = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class Spooled:
    """Bytes on local disk that hash to ``sha256``; each reader opens the file on its own."""

    sha256: str
    size: int
    path: Path

    def open(self) -> BinaryIO:
        return open(self.path, "rb")  # the caller (or the S3 client) closes it

    def inspect(self, limits: Limits) -> ImageInfo:
        """``NotAnImage`` or ``TooManyPixels`` unless the bytes are a whole photo."""
        return inspect_image(self.path, max_pixels=limits.max_pixels, max_bytes=limits.max_bytes)


@dataclass(frozen=True)
class Received:
    """Verified bytes: the hash matched and they decode as a photo."""

    spooled: Spooled
    info: ImageInfo

    @property
    def sha256(self) -> str:
        return self.spooled.sha256

    @property
    def size(self) -> int:
        return self.spooled.size

    @property
    def taken_at(self) -> datetime | None:
        """The capture time as an instant (UTC), reading an offset-less time as +08:00."""
        taken = self.info.taken_at
        if taken is None:
            return None
        instant = taken.aware or taken.local.replace(tzinfo=ASSUMED_ZONE)
        return instant.astimezone(UTC)

    def metadata(self) -> dict[str, Any]:
        """What the photo says about itself, as the API shows it."""
        info = self.info.to_dict()
        taken = self.info.taken_at
        zone = None if taken is None else ("recorded" if taken.offset else "+08:00")
        info["taken_at_zone"] = zone
        return info


@contextmanager
def spooled(stream: IO[bytes], sha256: str, limits: Limits) -> Iterator[Spooled]:
    """Read ``stream`` to its end into a temporary file, refusing as soon as it is over the
    size limit (``TooLarge``) or if it does not hash to ``sha256`` (``MediaHashMismatch``).
    The file is deleted when the block ends, whatever happens."""
    with tempfile.NamedTemporaryFile(prefix="anjian-upload-") as spool:
        digest = hashlib.sha256()
        size = 0
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limits.max_bytes:
                raise TooLarge(None, limits.max_bytes)
            digest.update(chunk)
            spool.write(chunk)
        spool.flush()
        if digest.hexdigest() != sha256:
            raise MediaHashMismatch(sha256, digest.hexdigest(), size)
        yield Spooled(sha256, size, Path(spool.name))

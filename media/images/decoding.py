"""Getting from untrusted bytes to pixels safely: bounded reading, the pixel limit checked on
the header before anything is decoded, and every decoder failure turned into a domain error."""

from __future__ import annotations

import io
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Final, TypeAlias, cast

from PIL import Image, ImageFile

from media.images.errors import NotAnImage, TooLarge, TooManyPixels
from media.images.formats import LABELS, ContentType, header_size, jpeg_header_complete, sniff

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "ImageSource",
    "check_pixels",
    "decoding_errors",
    "ensure_heif_support",
    "open_image",
    "open_stream",
    "pixel_limit",
    "read_source",
]

ImageSource: TypeAlias = bytes | BinaryIO | os.PathLike[str]
"""The bytes themselves, a binary stream (read from where it is to its end, left open), or the
path of a file."""

DEFAULT_MAX_BYTES: Final = 32 * 1024 * 1024
"""Suggested upload limit: phone photos are 2-8 MB, 50 MP ones up to about 25 MB."""
DEFAULT_MAX_PIXELS: Final = 80_000_000
# PNG and HEIC cannot be decoded at a reduced scale as JPEG can, so checking one holds all its
# pixels: at most this many bytes of them (33.5 MP of colour; 8,900 x 8,900 RGB would be 317 MB).
MAX_DECODED_BYTES: Final = 128 * 1024 * 1024
"""Suggested pixel limit: room for 64 MP phone sensors (9248 x 6936), and just under Pillow's
own decompression-bomb threshold (89,478,485), which therefore never fires."""

_PILLOW_FORMATS: Final[dict[ContentType, str]] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIF",
}
_CHUNK = 1024 * 1024
_HEAD_BYTES = 64 * 1024  # a JPEG's header, EXIF thumbnail included, nearly always fits

# What Pillow and libheif raise on malformed input. Decoders of hostile bytes have raised each of
# these at some point, so all of them mean "this is not a usable image" (MemoryError is not here:
# running out of memory is the server's problem, not the file's).
_DECODER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    RuntimeError,
    struct.error,
)

_heif_lock = threading.Lock()
_heif_registered = False


def ensure_heif_support() -> None:
    """Teach Pillow to open HEIC/HEIF (pillow-heif), once per process, safely from any thread.

    This changes global state (Pillow's plugin registry and pillow-heif's options), which cannot
    be avoided to open HEIC through ``Image.open``; ``media`` is the only package that uses
    Pillow, so nothing else is affected. Embedded thumbnails are switched off so that ``draft``
    can never swap in a thumbnail, whose pixels need not match the photo's, for the photo.
    """
    global _heif_registered
    if _heif_registered:
        return
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif  # here, not at the top: libheif loads only once a HEIC turns up

            pillow_heif.register_heif_opener(thumbnails=False)
            _heif_registered = True


def read_source(source: ImageSource, *, max_bytes: int | None) -> bytes:
    """All the bytes of ``source``, refusing with :class:`TooLarge` as soon as it is known to
    hold more than ``max_bytes`` (a file by its size, a stream after ``max_bytes + 1`` bytes)."""
    if isinstance(source, bytes):
        if max_bytes is not None and len(source) > max_bytes:
            raise TooLarge(len(source), max_bytes)
        return source
    if isinstance(source, os.PathLike):
        with open(source, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise TooLarge(size, max_bytes)
            return _read_bounded(file, max_bytes)
    return _read_bounded(source, max_bytes)


def _read_bounded(stream: BinaryIO, max_bytes: int | None) -> bytes:
    buffer = bytearray()
    while chunk := stream.read(_CHUNK):  # raw streams may return short reads; loop to the end
        buffer += chunk
        if max_bytes is not None and len(buffer) > max_bytes:
            raise TooLarge(None, max_bytes)
    return bytes(buffer)


def pixel_limit(max_pixels: int) -> int:
    """The limit actually applied: ``max_pixels``, or Pillow's own decompression-bomb limit if
    that is lower, so that Pillow never has a reason to warn or raise about the size itself."""
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, not {max_pixels}")
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return max_pixels if pillow_limit is None else min(max_pixels, int(pillow_limit))


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    limit = pixel_limit(max_pixels)
    if width * height > limit:
        raise TooManyPixels(width, height, limit)


def open_image(data: bytes, *, max_pixels: int) -> tuple[ContentType, ImageFile.ImageFile]:
    """Sniff ``data``, check the header's pixel count, then open it with only the matching
    Pillow plugin. Nothing is decoded yet: call :func:`decoding_errors` around ``load()``."""
    _refuse_truncated_mode()
    content_type = sniff(data)
    if content_type == "image/heic":
        ensure_heif_support()
        width, height = _heic_size(data)
    else:
        width, height = header_size(data, content_type)
    return content_type, _open_checked(io.BytesIO(data), content_type, width, height, max_pixels)


def open_stream(
    stream: BinaryIO, *, max_pixels: int, max_bytes: int | None
) -> tuple[ContentType, ImageFile.ImageFile]:
    """:func:`open_image` for a stream that is still arriving (an object store's reply). A JPEG
    is read only as far as its header before the checks, and the rest as the decoder asks for
    it, so decoding overlaps the transfer instead of waiting for its end; PNG and HEIC are read
    whole first. At most ``max_bytes`` are read (:class:`TooLarge`), bytes after a JPEG's end
    marker may be left unread, and the stream is left open."""
    _refuse_truncated_mode()
    arriving = _Arriving(stream, max_bytes)
    wanted = _HEAD_BYTES
    head = arriving.head(wanted)
    content_type = sniff(head)
    if content_type != "image/jpeg":
        return open_image(arriving.whole(), max_pixels=max_pixels)
    while len(head) == wanted and not jpeg_header_complete(head):  # a large EXIF block
        wanted *= 4
        head = arriving.head(wanted)
    width, height = header_size(head, content_type)
    fp = cast(BinaryIO, arriving)  # a RawIOBase has all a file object needs for Pillow
    return content_type, _open_checked(fp, content_type, width, height, max_pixels)


def _refuse_truncated_mode() -> None:
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone switched on Pillow's global "accept truncated files" mode; refusing to run is
        # better than accepting half-uploaded evidence.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")


def _open_checked(
    fp: BinaryIO, content_type: ContentType, width: int, height: int, max_pixels: int
) -> ImageFile.ImageFile:
    """Open with only the matching plugin, once the header's size passed the pixel limit."""
    check_pixels(width, height, max_pixels)
    with decoding_errors(content_type, size=(width, height), max_pixels=max_pixels):
        image = Image.open(fp, formats=[_PILLOW_FORMATS[content_type]])
    try:
        # The header check saw the same bytes, but the decoder's word is the one that counts.
        check_pixels(*image.size, max_pixels)
        if content_type != "image/jpeg":  # decoded at full size: bound the memory it takes
            check_pixels(*image.size, MAX_DECODED_BYTES // _bytes_per_pixel(image.mode))
    except TooManyPixels:
        image.close()
        raise
    return image


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow holds per decoded pixel: one byte for 8-bit single-band modes, two for
    16-bit grey, four for everything else (RGB is stored as RGBX)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


class _Arriving(io.RawIOBase):
    """A forward-only stream made seekable for Pillow: what was read is kept, and the source is
    read only as far as someone has asked, in large chunks."""

    def __init__(self, source: BinaryIO, max_bytes: int | None) -> None:
        super().__init__()
        self._source = source
        self._max_bytes = max_bytes
        self._data = bytearray()
        self._position = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = len(self.whole()) + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        with memoryview(buffer).cast("B") as target:
            self._fill(self._position + len(target))
            with memoryview(self._data) as data:
                count = max(0, min(len(target), len(data) - self._position))
                target[:count] = data[self._position : self._position + count]
        self._position += count
        return count

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer if the stream is shorter)."""
        self._fill(size)
        return bytes(self._data[:size])

    def whole(self) -> bytes:
        self._fill(None)
        return bytes(self._data)

    def _fill(self, size: int | None) -> None:
        while not self._ended and (size is None or len(self._data) < size):
            chunk = self._source.read(_CHUNK)
            if not chunk:
                self._ended = True
                return
            self._data += chunk
            if self._max_bytes is not None and len(self._data) > self._max_bytes:
                raise TooLarge(None, self._max_bytes)


def _heic_size(data: bytes) -> tuple[int, int]:
    """The primary image's size as libheif reports it from the boxes, before any decoding."""
    import pillow_heif

    with decoding_errors("image/heic"):
        width, height = pillow_heif.open_heif(data, convert_hdr_to_8bit=True).size
    return int(width), int(height)


@contextmanager
def decoding_errors(
    content_type: ContentType,
    *,
    size: tuple[int, int] | None = None,
    max_pixels: int | None = None,
) -> Iterator[None]:
    """Turn what Pillow or libheif raise into :class:`NotAnImage` or :class:`TooManyPixels`.

    Pillow's DecompressionBombError (and its warning, where warnings are errors) can only come
    from a size that :func:`check_pixels` let through, which it prevents; they are mapped all the
    same, so no Pillow exception ever leaves this package.
    """
    label = LABELS[content_type]
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if size is None or max_pixels is None:
            raise NotAnImage(label, "it is too large to decode") from exc
        raise TooManyPixels(*size, pixel_limit(max_pixels)) from exc
    except _DECODER_ERRORS as exc:
        raise NotAnImage(label, _reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if text.startswith("cannot identify image file"):
        return "its structure is invalid"
    return text if len(text) <= 200 else f"{text[:197]}..."

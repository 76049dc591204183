"""What the bytes are, from their magic numbers, and how big the image says it is, from its
header, without decoding anything. The declared content type is never consulted."""

from __future__ import annotations

import codecs
from typing import Final, Literal, get_args

from media.images.errors import NotAnImage

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "ContentType",
    "describe",
    "header_size",
    "jpeg_header_complete",
    "sniff",
]

ContentType = Literal["image/jpeg", "image/png", "image/heic"]
ACCEPTED_CONTENT_TYPES: Final[tuple[ContentType, ...]] = get_args(ContentType)

LABELS: Final[dict[ContentType, str]] = {
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "image/heic": "a HEIC image",
}

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
# Brands of HEIF files whose images are HEVC-coded stills (ISO/IEC 23008-12 Annex B). The
# generic "mif1" alone says nothing about the codec (AVIF files carry it too), so it is not enough.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis"})
_OTHER_BRANDS = {
    b"avif": "an AVIF image",
    b"avis": "an AVIF image sequence",
    b"hevc": "a HEIC image sequence",
    b"hevx": "a HEIC image sequence",
    b"msf1": "a HEIF image sequence",
    b"mif1": "a HEIF image that is not HEVC-coded",
    b"qt  ": "a QuickTime video",
    b"isom": "an MP4 video",
    b"mp41": "an MP4 video",
    b"mp42": "an MP4 video",
    b"3gp4": "a 3GP video",
    b"crx ": "a Canon raw photo",
}
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image or raw photo"),
    (b"MM\x00*", "a TIFF image or raw photo"),
    (b"BM", "a BMP image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x00\x00\x01\x00", "an icon file"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
)

# Start-of-frame markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0-7, SOI.
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})
_SOS, _EOI = 0xDA, 0xD9


def sniff(data: bytes) -> ContentType:
    """The content type the bytes have, or :class:`NotAnImage` saying what they look like."""
    if data.startswith(_JPEG):
        return "image/jpeg"
    if data.startswith(_PNG):
        return "image/png"
    brands = _ftyp_brands(data)
    if brands and not _HEIC_BRANDS.isdisjoint(brands):
        return "image/heic"
    raise NotAnImage(describe(data))


def describe(data: bytes) -> str:
    """A short human description of bytes that are none of the accepted types."""
    if not data:
        return "an empty file"
    for prefix, label in _SIGNATURES:
        if data.startswith(prefix):
            return label
    brands = _ftyp_brands(data)
    if brands:
        for brand in brands:
            if brand in _OTHER_BRANDS:
                return _OTHER_BRANDS[brand]
        return f"an ISO media file (brand {brands[0].decode('latin-1')!r})"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    if _looks_like_text(data):
        return "text"
    return "unrecognised binary data"


def header_size(data: bytes, content_type: ContentType) -> tuple[int, int]:
    """Width and height from a JPEG or PNG header; HEIC headers are read by libheif instead.

    For a JPEG this is the largest frame declared before the image data, so it is never smaller
    than what Pillow will report.
    """
    if content_type == "image/jpeg":
        return _jpeg_size(data)
    if content_type == "image/png":
        return _png_size(data)
    raise ValueError(f"no header parser for {content_type}")


def _ftyp_brands(data: bytes) -> list[bytes]:
    """Major then compatible brands of an ISO base media file's leading ``ftyp`` box."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return []
    box_size = int.from_bytes(data[0:4], "big")
    end = min(box_size, len(data), 4096) if box_size >= 16 else 16
    brands = [data[8:12]]
    brands.extend(data[offset : offset + 4] for offset in range(16, end - 3, 4))
    return brands


def _looks_like_text(data: bytes) -> bool:
    sample = data[:1024]
    if b"\x00" in sample:
        return False
    try:
        # Not final: the sample may end inside a multi-byte character.
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\r\n\f\v" for char in text)


def _png_size(data: bytes) -> tuple[int, int]:
    # Signature, then the IHDR chunk (length 13) must come first.
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise NotAnImage(LABELS["image/png"], "it has no IHDR header chunk")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not width or not height:
        raise NotAnImage(LABELS["image/png"], f"its header says {width} x {height} pixels")
    return width, height


def jpeg_header_complete(data: bytes) -> bool:
    """Whether ``data`` holds a JPEG's marker segments up to its first scan (or its end), so
    that :func:`header_size` of more bytes could not differ."""
    return _walk_jpeg(data)[1]


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """The largest frame size declared before the image data."""
    label = LABELS["image/jpeg"]
    largest = _walk_jpeg(data)[0]
    if largest is None:
        raise NotAnImage(label, "it has no frame header before the image data")
    if not largest[0] or not largest[1]:
        raise NotAnImage(label, f"its header says {largest[0]} x {largest[1]} pixels")
    return largest


def _walk_jpeg(data: bytes) -> tuple[tuple[int, int] | None, bool]:
    """Walk the marker segments up to the first scan, as Pillow's JPEG plugin does: the largest
    declared frame size, and whether the walk reached the scan (or the end marker)."""
    label = LABELS["image/jpeg"]
    largest: tuple[int, int] | None = None
    position, end = 2, len(data)
    while position < end:
        if data[position] != 0xFF:  # junk between segments, which decoders skip
            position += 1
            continue
        while position < end and data[position] == 0xFF:  # fill bytes
            position += 1
        if position >= end:
            break
        marker = data[position]
        position += 1
        if marker in (_SOS, _EOI):
            return largest, True
        if marker == 0x00 or marker in _STANDALONE_MARKERS:
            continue
        if position + 2 > end:
            break
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2:
            raise NotAnImage(label, f"marker segment 0xFF{marker:02X} has length {length}")
        if marker in _SOF_MARKERS and length >= 7 and position + 7 <= end:
            height = int.from_bytes(data[position + 3 : position + 5], "big")
            width = int.from_bytes(data[position + 5 : position + 7], "big")
            if largest is None or width * height > largest[0] * largest[1]:
                largest = (width, height)
        position += length
    return largest, False

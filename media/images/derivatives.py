"""Thumbnails and display copies: upright, metadata-free JPEGs, made with one reduced decode.

The source is decoded once, and for a JPEG at a reduced scale (``Image.draft``, the DCT scaling
of libjpeg: a 12 MP photo decodes to 3 MP for a 1600 px display copy). The largest derivative is
resized from that, rotated upright, and each smaller one is resized from the one before it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from PIL import Image

from media.images.decoding import (
    DEFAULT_MAX_PIXELS,
    ImageSource,
    decoding_errors,
    open_image,
    open_stream,
    read_source,
)
from media.images.metadata import orientation_of
from media.keys import ORIGINAL, validate_kind

__all__ = [
    "DEFAULT_QUALITY",
    "DEFAULT_SIZES",
    "Derivative",
    "draft_box",
    "fit",
    "iter_derivatives",
    "make_derivatives",
]

DEFAULT_SIZES: Final[Mapping[str, int]] = MappingProxyType({"thumbnail": 320, "display": 1600})
"""Derivative kind -> the long edge in pixels."""
DEFAULT_QUALITY: Final = 82
"""JPEG quality: at 1600 px, artefacts are not visible on a tablet or a monitor."""

# Lanczos for sharp downscales; with reducing_gap=3 a reduction of 6x or more is first done by
# an integer box reduce, which Pillow documents as indistinguishable from the full filter and
# which makes large PNG and HEIC sources (never drafted) cheap.
_RESAMPLE: Final = Image.Resampling.LANCZOS
_REDUCING_GAP: Final = 3.0
_SWAPPING: Final = frozenset({5, 6, 7, 8})
# The same table as PIL.ImageOps.exif_transpose, applied after resizing, when the image is small.
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_WHITE: Final = (255, 255, 255)


@dataclass(frozen=True)
class Derivative:
    """One derived JPEG, upright and without any EXIF, XMP or comment."""

    width: int
    height: int
    data: bytes = field(repr=False)
    content_type: Literal["image/jpeg"] = "image/jpeg"


def fit(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled so the long edge is ``long_edge``; never enlarged."""
    if long_edge < 1:
        raise ValueError(f"long_edge must be positive, not {long_edge}")
    longest = max(width, height)
    if longest <= long_edge:
        return width, height
    short = max(1, round(min(width, height) * long_edge / longest))
    return (long_edge, short) if width >= height else (short, long_edge)


def draft_box(width: int, height: int, orientation: int | None, long_edge: int) -> tuple[int, int]:
    """The size to pass to ``Image.draft`` for a stored ``width`` x ``height`` image that is
    shown with EXIF ``orientation`` and wanted with an upright long edge of ``long_edge``.

    ``draft`` works on the stored pixels and picks the largest scale that keeps *both* sides at
    least as large as the box, so the box must have the stored aspect ratio and orientation:
    for a 4000 x 3000 JPEG and 1600 it is (1600, 1200), whatever the orientation; (1200, 1600)
    or (1600, 1600) would make libjpeg decode at full size.
    """
    swapped = orientation in _SWAPPING
    upright = (height, width) if swapped else (width, height)
    target_width, target_height = fit(*upright, long_edge)
    return (target_height, target_width) if swapped else (target_width, target_height)


def make_derivatives(
    data: ImageSource,
    *,
    sizes: Mapping[str, int] = DEFAULT_SIZES,
    quality: int = DEFAULT_QUALITY,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = None,
) -> dict[str, Derivative]:
    """Make one upright JPEG per entry of ``sizes`` (kind -> long edge in pixels).

    EXIF orientation is applied; EXIF, XMP, IPTC and comments are dropped, so the GPS position
    and device never leak into a derivative (the colour profile is kept, so colours stay
    right). Images smaller than a size are re-encoded at their own size, never enlarged.
    Raises the same errors as :func:`~media.images.inspect_image` for bad input.

    From a stream (an object store's reply), a JPEG is decoded while the rest of it is still
    arriving (see :func:`~media.images.decoding.open_stream`); the stream is left open.
    """
    made = dict(
        iter_derivatives(
            data, sizes=sizes, quality=quality, max_pixels=max_pixels, max_bytes=max_bytes
        )
    )
    return {kind: made[kind] for kind in sizes}


def iter_derivatives(
    data: ImageSource,
    *,
    sizes: Mapping[str, int] = DEFAULT_SIZES,
    quality: int = DEFAULT_QUALITY,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = None,
) -> Iterator[tuple[str, Derivative]]:
    """:func:`make_derivatives` one by one: ``(kind, derivative)`` as soon as each is encoded,
    the largest first, so a caller can store one while the next is being made.

    The arguments are checked at once; the image is read and decoded on the first ``next``,
    and bad input raises there. Exhaust or close the iterator: it holds the decoded pixels.
    """
    plan = _plan(sizes)
    if not 1 <= quality <= 95:
        raise ValueError(f"quality must be between 1 and 95, not {quality}")
    return _derivatives(data, plan, quality, max_pixels, max_bytes)


def _derivatives(
    data: ImageSource,
    plan: list[tuple[str, int]],
    quality: int,
    max_pixels: int,
    max_bytes: int | None,
) -> Iterator[tuple[str, Derivative]]:
    if isinstance(data, bytes | os.PathLike):
        content_type, image = open_image(
            read_source(data, max_bytes=max_bytes), max_pixels=max_pixels
        )
    else:  # decoded as it arrives
        content_type, image = open_stream(data, max_pixels=max_pixels, max_bytes=max_bytes)
    with image:
        width, height = image.size
        if content_type == "image/jpeg":
            # A JPEG's EXIF is in its header, known before decoding; the box needs it.
            box = draft_box(width, height, orientation_of(image), plan[0][1])
            image.draft("RGB", box)
        with decoding_errors(content_type):
            image.load()
        orientation = orientation_of(image)
        icc_profile = image.info.get("icc_profile")
        # Still inside `with`: closing the file also frees the decoded pixels.
        yield from _derive(_to_rgb(image), (width, height), orientation, plan, quality, icc_profile)


def _derive(
    image: Image.Image,
    stored_size: tuple[int, int],
    orientation: int | None,
    plan: list[tuple[str, int]],
    quality: int,
    icc_profile: bytes | None,
) -> Iterator[tuple[str, Derivative]]:
    """The first (largest) derivative from the decoded pixels, each next one from the last."""
    width, height = stored_size
    swapped = orientation in _SWAPPING
    upright = (height, width) if swapped else (width, height)
    current = image
    for index, (kind, long_edge) in enumerate(plan):
        target = fit(*upright, long_edge)
        if index == 0:
            current = _resize(current, (target[1], target[0]) if swapped else target)
            if orientation in _TRANSPOSE:
                current = current.transpose(_TRANSPOSE[orientation])
        else:
            current = _resize(current, target)
        yield kind, _encode(current, quality, icc_profile)


def _plan(sizes: Mapping[str, int]) -> list[tuple[str, int]]:
    """Kinds from the largest to the smallest, checked."""
    if not sizes:
        raise ValueError("sizes must name at least one derivative")
    for kind, long_edge in sizes.items():
        if validate_kind(kind) == ORIGINAL:
            raise ValueError(f"{ORIGINAL!r} names the original, not a derivative")
        if long_edge < 1:
            raise ValueError(f"the long edge of {kind!r} must be positive, not {long_edge}")
    return sorted(sizes.items(), key=lambda item: item[1], reverse=True)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency is laid on white (as a viewer would show it), 16-bit grey is
    scaled rather than clipped."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode.startswith("I"):
        return image.convert("I").point(lambda value: value / 256).convert("RGB")
    return image.convert("RGB")


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)


def _encode(image: Image.Image, quality: int, icc_profile: bytes | None) -> Derivative:
    # Pillow copies `info` along resizes and transposes, and the JPEG encoder still writes
    # `info["comment"]` of its own accord: an empty `info` is what guarantees a clean file.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, icc_profile=icc_profile)
    return Derivative(width=image.width, height=image.height, data=buffer.getvalue())

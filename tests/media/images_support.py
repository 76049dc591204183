"""Images made in code for the media tests: photo-like pixels, EXIF, and hostile files."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator
from datetime import datetime

import pillow_heif
from PIL import ExifTags, Image, ImageChops, ImageDraw
from PIL.TiffImagePlugin import IFDRational

RED = (220, 20, 20)
GREY = (128, 128, 128)

# ImageOps.exif_transpose turns the stored pixels upright with these; a test photo for
# orientation N is stored as the inverse of N's transposition applied to the upright picture.
_STORE_FOR_ORIENTATION: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # shown with ROTATE_270
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,  # shown with ROTATE_90
}


def photo(width: int, height: int, *, seed: int = 0, noise: float = 8.0) -> Image.Image:
    """Smooth colour gradients, a few solid shapes and sensor-like noise: JPEG sizes like a
    camera's, unlike a flat test card."""
    rnd = random.Random(seed)
    size, smooth = (width, height), Image.Resampling.BILINEAR
    red = Image.linear_gradient("L").resize(size, smooth)
    green = Image.radial_gradient("L").resize(size, smooth)
    blue = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size, smooth)
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rnd.randrange(width), rnd.randrange(height)
        box = (x, y, x + rnd.randrange(1, width // 3 + 2), y + rnd.randrange(1, height // 3 + 2))
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=colour)
    if not noise:
        return image
    # A tile of noise repeated: effect_noise over 12 MP takes most of a second. 509 is not a
    # multiple of 8, so JPEG blocks never see the same noise twice in a row.
    tile = Image.effect_noise((509, 509), noise)
    grain = Image.new("L", (width, height))
    for x in range(0, width, 509):
        for y in range(0, height, 509):
            grain.paste(tile, (x, y))
    return ImageChops.add(image, grain.convert("RGB"), offset=-128)


def marked(width: int, height: int) -> Image.Image:
    """An upright grey picture with a red block in its top-left corner (and nowhere else)."""
    image = Image.new("RGB", (width, height), GREY)
    ImageDraw.Draw(image).rectangle((0, 0, width // 3, height // 3), fill=RED)
    return image


def stored_for(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera would store for ``upright`` when it tags them with ``orientation``."""
    method = _STORE_FOR_ORIENTATION[orientation]
    return upright.copy() if method is None else upright.transpose(method)


def is_red(pixel: tuple[int, ...]) -> bool:
    red, green, blue = pixel[:3]
    return red > 180 and green < 80 and blue < 80


def dms(degrees: int, minutes: int, seconds: float) -> tuple[IFDRational, ...]:
    return (IFDRational(degrees), IFDRational(minutes), IFDRational(round(seconds * 100), 100))


def exif(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    subsec: str | None = None,
    latitude: tuple[str, tuple[IFDRational, ...]] | None = None,
    longitude: tuple[str, tuple[IFDRational, ...]] | None = None,
    altitude: tuple[int, IFDRational] | None = None,
    gps_time: datetime | None = None,
    make: str | None = None,
    model: str | None = None,
) -> Image.Exif:
    """EXIF as a phone writes it; ``latitude=("N", dms(24, 28, 0))``, ``altitude=(ref, metres)``."""
    data = Image.Exif()
    if orientation is not None:
        data[ExifTags.Base.Orientation] = orientation
    if make is not None:
        data[ExifTags.Base.Make] = make
    if model is not None:
        data[ExifTags.Base.Model] = model
    details = data.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        details[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    if subsec is not None:
        details[ExifTags.Base.SubsecTimeOriginal] = subsec
    gps = data.get_ifd(ExifTags.IFD.GPSInfo)
    if latitude is not None:
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = latitude
    if longitude is not None:
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = longitude
    if altitude is not None:
        ref, metres = altitude
        gps[ExifTags.GPS.GPSAltitudeRef] = bytes([ref])
        gps[ExifTags.GPS.GPSAltitude] = metres
    if gps_time is not None:
        gps[ExifTags.GPS.GPSDateStamp] = gps_time.strftime("%Y:%m:%d")
        gps[ExifTags.GPS.GPSTimeStamp] = tuple(
            IFDRational(part) for part in (gps_time.hour, gps_time.minute, gps_time.second)
        )
    return data


def jpeg(image: Image.Image, *, quality: int = 90, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **params)
    return buffer.getvalue()


def png(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def heic(image: Image.Image, *, exif_data: Image.Exif | None = None, quality: int = 80) -> bytes:
    """HEIC through pillow-heif's encoder (x265); an EXIF orientation becomes the container's
    rotation, as on an iPhone."""
    buffer = io.BytesIO()
    params: dict[str, object] = {"quality": quality}
    if exif_data is not None:
        params["exif"] = exif_data.tobytes()
    pillow_heif.from_pillow(image).save(buffer, **params)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` RGB pixels, with one tiny IDAT: the
    decompression bomb's shape, built without ever allocating its pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def with_jpeg_frame_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose start-of-frame header has been rewritten to declare another size."""
    position = next(offset for offset, marker in jpeg_markers(data) if marker == 0xC0)
    patched = bytearray(data)
    patched[position + 5 : position + 9] = struct.pack(">HH", height, width)
    return bytes(patched)


def jpeg_markers(data: bytes) -> Iterator[tuple[int, int]]:
    """``(offset, marker)`` of each segment before the first scan (offset of the 0xFF)."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        yield position, marker
        if marker == 0xDA:
            return
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")

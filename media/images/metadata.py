"""What a photo says about itself: size, orientation, capture time, position, device.

EXIF comes from devices and from whoever edited the file since, so every field is read on its
own and a malformed one becomes ``None``: odd metadata never costs the photo itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from PIL import ExifTags, Image

from media.images.formats import ContentType

__all__ = ["CaptureTime", "GpsPosition", "ImageInfo", "orientation_of", "read_info"]

_T = TypeVar("_T")

_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_DATE = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})")
_MAX_TEXT = 200


@dataclass(frozen=True)
class CaptureTime:
    """When the photo was taken, as the device's clock showed it (EXIF DateTimeOriginal).

    EXIF stores wall-clock time without a zone. ``local`` is therefore naive and means "local
    time wherever and however the device's clock was set"; it is never converted with the
    server's zone. Only when the device also wrote OffsetTimeOriginal (``offset``, e.g.
    ``"+08:00"``) is the instant known, as :attr:`aware`. Callers that need an instant without
    an offset must decide on a zone themselves (for this service, China Standard Time is the
    sensible reading) and say so where they show it.
    """

    local: datetime
    """Naive wall-clock time, including SubSecTimeOriginal when present."""
    raw: str
    """DateTimeOriginal exactly as recorded, e.g. ``"2023:05:06 14:03:22"``."""
    offset: str | None = None
    """OffsetTimeOriginal as recorded (``"+08:00"``), if the device wrote a valid one."""

    @property
    def aware(self) -> datetime | None:
        """The instant, if the offset is known; ``None`` otherwise."""
        if self.offset is None:
            return None
        return self.local.replace(tzinfo=_parse_offset(self.offset))

    def to_dict(self) -> dict[str, Any]:
        aware = self.aware
        return {
            "local": self.local.isoformat(),
            "raw": self.raw,
            "offset": self.offset,
            "aware": None if aware is None else aware.isoformat(),
        }


@dataclass(frozen=True)
class GpsPosition:
    """Where the device's GPS placed it (WGS 84 in practice; EXIF rarely says otherwise)."""

    latitude: float
    """Signed decimal degrees, north positive."""
    longitude: float
    """Signed decimal degrees, east positive."""
    altitude: float | None = None
    """Metres above sea level (negative below), if recorded."""
    timestamp: datetime | None = None
    """The GPS fix's time (GPSDateStamp + GPSTimeStamp), which EXIF defines as UTC."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "altitude": self.altitude,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
        }


@dataclass(frozen=True)
class ImageInfo:
    """A photo that decoded completely, and what its metadata says."""

    content_type: ContentType
    """From the bytes' magic number, never from what the client declared."""
    width: int
    """Pixels as stored, before :attr:`orientation` is applied."""
    height: int
    orientation: int | None
    """EXIF Orientation (1-8) still to apply to show the photo upright, or ``None``.

    For HEIC the decoder already applies the container's rotation and mirroring (HEIF makes them
    part of the image), so ``width`` x ``height`` is upright and the EXIF tag, if any, reads 1.
    """
    taken_at: CaptureTime | None = None
    gps: GpsPosition | None = None
    make: str | None = None
    model: str | None = None

    @property
    def upright_size(self) -> tuple[int, int]:
        """Width and height once the orientation is applied (swapped for 5-8)."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings."""
        return {
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "orientation": self.orientation,
            "taken_at": None if self.taken_at is None else self.taken_at.to_dict(),
            "gps": None if self.gps is None else self.gps.to_dict(),
            "make": self.make,
            "model": self.model,
        }


def read_info(
    content_type: ContentType, image: Image.Image, *, stored_size: tuple[int, int]
) -> ImageInfo:
    """Build :class:`ImageInfo` from a loaded image whose full size is ``stored_size`` (a draft
    may have decoded it smaller)."""
    exif = _safely(image.getexif)
    width, height = stored_size
    if exif is None:
        return ImageInfo(content_type, width, height, orientation=None)
    base = _safely(lambda: dict(exif))
    details = _safely(lambda: dict(exif.get_ifd(ExifTags.IFD.Exif)))
    gps = _safely(lambda: dict(exif.get_ifd(ExifTags.IFD.GPSInfo)))
    return ImageInfo(
        content_type,
        width,
        height,
        orientation=_orientation(base),
        taken_at=_safely(lambda: _capture_time(details)),
        gps=_safely(lambda: _gps_position(gps)),
        make=_text((base or {}).get(ExifTags.Base.Make)),
        model=_text((base or {}).get(ExifTags.Base.Model)),
    )


def orientation_of(image: Image.Image) -> int | None:
    """The EXIF orientation (1-8) of an image, or ``None`` if absent or invalid.

    Call it on a loaded image, or on an unloaded JPEG (whose EXIF is in the header): Pillow loads
    a PNG to look for EXIF after the pixels, and that must happen where decoding errors are mapped.
    """
    exif = _safely(image.getexif)
    return None if exif is None else _orientation(_safely(lambda: dict(exif)))


def _safely(read: Callable[[], _T]) -> _T | None:
    """Run one metadata reader; malformed EXIF trips Pillow in many ways, none fatal here."""
    try:
        return read()
    except Exception:  # any failure of one field only loses that field
        return None


def _orientation(base: Mapping[int, Any] | None) -> int | None:
    value = (base or {}).get(ExifTags.Base.Orientation)
    if isinstance(value, int) and 1 <= value <= 8:
        return value
    return None


def _capture_time(details: Mapping[int, Any] | None) -> CaptureTime | None:
    if not details:
        return None
    raw = _text(details.get(ExifTags.Base.DateTimeOriginal))
    match = _DATETIME.fullmatch(raw or "")
    if raw is None or match is None:
        return None  # absent, or blanked out ("    :  :     :  :  ") by an editor
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    local = datetime(year, month, day, hour, minute, second)  # naive on purpose: see above
    subsec = _text(details.get(ExifTags.Base.SubsecTimeOriginal))
    if subsec and subsec.isdigit():
        local = local.replace(microsecond=int(subsec[:6].ljust(6, "0")))
    offset = _text(details.get(ExifTags.Base.OffsetTimeOriginal))
    if offset is not None and _parse_offset(offset) is None:
        offset = None
    return CaptureTime(local=local, raw=raw, offset=offset)


def _parse_offset(text: str) -> timezone | None:
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        return None
    return timezone(-delta if sign == "-" else delta)


def _gps_position(gps: Mapping[int, Any] | None) -> GpsPosition | None:
    if not gps:
        return None
    latitude = _signed(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
    longitude = _signed(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
    if latitude is None or longitude is None:
        return None
    if abs(latitude) > 90 or abs(longitude) > 180:
        return None
    return GpsPosition(
        latitude=latitude,
        longitude=longitude,
        altitude=_safely(lambda: _altitude(gps)),
        timestamp=_safely(lambda: _gps_timestamp(gps)),
    )


def _signed(value: Any, ref: Any) -> float | None:
    """Degrees from (degrees, minutes, seconds) rationals and an N/S/E/W reference.

    Without a reference the hemisphere is unknown, and a position in the wrong one is worse
    evidence than none, so that is ``None``.
    """
    degrees = _degrees(value)
    hemisphere = (_text(ref) or "").upper()[:1]
    if degrees is None or hemisphere not in ("N", "S", "E", "W"):
        return None
    return -degrees if hemisphere in ("S", "W") else degrees


def _degrees(value: Any) -> float | None:
    parts = value if isinstance(value, tuple | list) else (value,)
    numbers = [_number(part) for part in parts[:3]]
    if not numbers or any(number is None or number < 0 for number in numbers):
        return None
    return math.fsum(
        number / 60**index for index, number in enumerate(numbers) if number is not None
    )


def _altitude(gps: Mapping[int, Any]) -> float | None:
    altitude = _number(gps.get(ExifTags.GPS.GPSAltitude))
    if altitude is None:
        return None
    ref = gps.get(ExifTags.GPS.GPSAltitudeRef)
    below_sea_level = ref in (1, b"\x01", "\x01", "1")
    return -altitude if below_sea_level else altitude


def _gps_timestamp(gps: Mapping[int, Any]) -> datetime | None:
    date = _DATE.fullmatch(_text(gps.get(ExifTags.GPS.GPSDateStamp)) or "")
    time = gps.get(ExifTags.GPS.GPSTimeStamp)
    if date is None or not isinstance(time, tuple | list) or len(time) != 3:
        return None
    hours, minutes, seconds = (_number(part) for part in time)
    if hours is None or minutes is None or seconds is None:
        return None
    year, month, day = (int(part) for part in date.groups())
    midnight = datetime(year, month, day, tzinfo=UTC)
    return midnight + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _number(value: Any) -> float | None:
    """A finite number from an EXIF rational (``IFDRational``; 0/0 reads as NaN) or integer."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    """An EXIF string without the NUL padding and blanks devices leave; ``None`` if empty."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:_MAX_TEXT] or None

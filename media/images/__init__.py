"""Photo checks and derivatives: is it a complete JPEG, PNG or HEIC within the limits, what does
its EXIF say, and the upright, metadata-free JPEGs shown in place of it.

The only place (with :mod:`media.store`) that touches Pillow; nothing here knows Flask or a
database, and every refusal is a :class:`~media.keys.MediaError`.
"""

from media.images.decoding import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageSource
from media.images.derivatives import (
    DEFAULT_QUALITY,
    DEFAULT_SIZES,
    Derivative,
    draft_box,
    fit,
    iter_derivatives,
    make_derivatives,
)
from media.images.errors import NotAnImage, TooLarge, TooManyPixels
from media.images.formats import ACCEPTED_CONTENT_TYPES, ContentType
from media.images.inspection import inspect_image
from media.images.metadata import CaptureTime, GpsPosition, ImageInfo

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_QUALITY",
    "DEFAULT_SIZES",
    "CaptureTime",
    "ContentType",
    "Derivative",
    "GpsPosition",
    "ImageInfo",
    "ImageSource",
    "NotAnImage",
    "TooLarge",
    "TooManyPixels",
    "draft_box",
    "fit",
    "inspect_image",
    "iter_derivatives",
    "make_derivatives",
]

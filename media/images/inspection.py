"""Deciding whether uploaded bytes are a photo we keep, and reading what it says about itself."""

from __future__ import annotations

from media.images.decoding import ImageSource, decoding_errors, open_image, read_source
from media.images.metadata import ImageInfo, read_info

__all__ = ["inspect_image"]

# A JPEG is checked by decoding it at 1/8 scale: libjpeg still reads and entropy-decodes every
# byte of every scan (that is where truncation and corruption show), it only skips most of the
# inverse DCT and never holds the full-size pixels (0.6 MB instead of 36 MB for 12 MP).
_JPEG_CHECK_SCALE = 8


def inspect_image(data: ImageSource, *, max_pixels: int, max_bytes: int) -> ImageInfo:
    """Check that ``data`` is a complete JPEG, PNG or HEIC image and read its metadata.

    In order, each step refusing before the next costs anything: at most ``max_bytes`` are read
    (:class:`~media.images.TooLarge`); the type comes from the magic bytes, never from a declared
    content type (:class:`~media.images.NotAnImage`); the pixel count comes from the header
    and must be at most ``max_pixels`` (:class:`~media.images.TooManyPixels`; Pillow's own
    decompression-bomb limit applies too if it is lower); only then is the whole file decoded,
    once, so a truncated or corrupt file is refused (:class:`~media.images.NotAnImage`).

    ``data`` may be bytes, a binary stream (read from its position to the end, left open) or a
    path. Safe to call from several threads at once.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, not {max_bytes}")
    source = read_source(data, max_bytes=max_bytes)
    content_type, image = open_image(source, max_pixels=max_pixels)
    with image:
        # All the bytes to the decoder in one call, which runs without the GIL from start to
        # end. In Pillow's default 64 kB blocks the check takes the GIL back ~50 times, and
        # each time may wait up to the 5 ms switch interval for a busy Python thread (the
        # request's database work, a put beside it): several times slower under load.
        image.decodermaxblock = max(image.decodermaxblock, len(source))
        width, height = image.size
        if content_type == "image/jpeg":
            image.draft(
                None,
                (max(1, width // _JPEG_CHECK_SCALE), max(1, height // _JPEG_CHECK_SCALE)),
            )
        with decoding_errors(content_type):
            image.load()
        # After loading: a PNG may keep its EXIF after the pixels.
        return read_info(content_type, image, stored_size=(width, height))

"""Why a photo was refused; the API maps each error to one HTTP status and stable code."""

from __future__ import annotations

from media.keys import MediaError

__all__ = ["ACCEPTED", "NotAnImage", "TooLarge", "TooManyPixels"]

ACCEPTED = "JPEG, PNG or HEIC"


class NotAnImage(MediaError):
    """The bytes are not a JPEG, PNG or HEIC image, or do not decode as one."""

    def __init__(self, detected: str, reason: str | None = None) -> None:
        super().__init__(detected, reason)
        self.detected = detected
        """What the bytes look like: ``"JPEG image"``, ``"PDF document"``, ``"text"``..."""
        self.reason = reason
        """Why a file of an accepted type was still refused (e.g. it is truncated)."""

    def __str__(self) -> str:
        if self.reason is None:
            return (
                f"the file is not a photo we accept: it looks like {self.detected}, "
                f"and only {ACCEPTED} images are accepted"
            )
        return (
            f"the file looks like a {self.detected} but cannot be read as one ({self.reason}); "
            "it may be damaged or incompletely uploaded: send the original file again"
        )


class TooManyPixels(MediaError):
    """The image's dimensions exceed the pixel limit (checked before decoding)."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(width, height, limit)
        self.width = width
        self.height = height
        self.limit = limit

    def __str__(self) -> str:
        return (
            f"the image is {self.width} x {self.height} pixels ({self.width * self.height:,}), "
            f"more than the limit of {self.limit:,} pixels: send a smaller photo"
        )


class TooLarge(MediaError):
    """The file has more bytes than allowed. ``size`` is ``None`` when reading stopped at the
    limit, for a stream of unknown length."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(size, limit)
        self.size = size
        self.limit = limit

    def __str__(self) -> str:
        size = "more than" if self.size is None else f"{self.size:,} bytes, more than"
        return f"the file is {size} the limit of {self.limit:,} bytes: send a smaller photo"

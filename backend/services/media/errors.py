"""Why a photo operation was refused, beyond what ``media`` itself raises (NotAnImage,
TooManyPixels, TooLarge, InvalidHash, StoreUnavailable): each carries its HTTP status and code."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, NotFound


class MediaHashMismatch(DomainError):
    """The bytes received do not hash to the SHA-256 they were sent as."""

    status, code = 422, "media.hash_mismatch"

    def __init__(self, expected: str, actual: str, size: int) -> None:
        super().__init__(
            f"The file's SHA-256 is {actual}, not {expected} as declared ({size:,} bytes "
            "received); nothing was kept. Hash the exact bytes you send and upload again; "
            "if it keeps happening, the file is being changed or cut off on the way.",
            errors={"expected": expected, "actual": actual, "size": size},
        )


class MediaNotFound(NotFound):
    """No photo under this hash that the caller may see (it may exist for someone else)."""

    status, code = 404, "media.not_found"

    def __init__(self, sha256: str) -> None:
        super().__init__(
            f"There is no photo {sha256} that you may see. A photo is shown to users who may "
            "see a record that references it, once it has been uploaded."
        )


class MediaNotUploaded(NotFound):
    """A record the caller may see references the photo, but its bytes have not arrived."""

    status, code = 404, "media.not_uploaded"

    def __init__(self, sha256: str) -> None:
        super().__init__(
            f"Photo {sha256} has not been uploaded yet; the record that references it shows it "
            "in awaiting_media. Try again after the tablet has synced."
        )


class UploadMissing(Conflict):
    """``complete`` was called, but nothing was uploaded to the direct-upload URL."""

    status, code = 409, "media.upload_missing"

    def __init__(self, sha256: str) -> None:
        super().__init__(
            f"Nothing was uploaded for photo {sha256} at the direct-upload URL (or it expired "
            "and was removed). PUT the file there first, or send it with "
            f"PUT /api/v1/media/{sha256}."
        )

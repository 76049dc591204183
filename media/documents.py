"""Documents as evidence: PDFs and scans (纪要, 方案, 决定书, 通知) checked before they are kept.

What the bytes are is read from the bytes, never from the declared type. A PDF must parse: its
cross-reference table and every page must load (pypdf, pure Python). A scan is a photo of
paper, so it passes the same check as a photo (:func:`media.inspect_image`). Anything else is
refused with what it looks like, so the caller can say what to send instead.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Final, Literal, get_args

from media.images import TooLarge, inspect_image
from media.images.errors import NotAnImage
from media.images.formats import describe
from media.keys import MediaError, validate_sha256
from media.store import validate_key

__all__ = [
    "DEFAULT_MAX_DOCUMENT_BYTES",
    "DOCUMENT_CONTENT_TYPES",
    "MAX_PAGES",
    "DocumentInfo",
    "DocumentType",
    "InvalidPdf",
    "NotADocument",
    "TypeMismatch",
    "document_key",
    "inspect_document",
]

DocumentType = Literal["application/pdf", "image/jpeg", "image/png"]
DOCUMENT_CONTENT_TYPES: Final[tuple[DocumentType, ...]] = get_args(DocumentType)
DEFAULT_MAX_DOCUMENT_BYTES: Final = 20 * 1024 * 1024
MAX_PAGES: Final = 500
# A scanned page at 300 dpi on A3 is ~17.5 million pixels; a photo limit of its own is not needed.
_MAX_SCAN_PIXELS: Final = 60_000_000
_PDF = b"%PDF-"


class NotADocument(MediaError):
    """The bytes are neither a PDF nor a JPEG or PNG scan."""

    def __init__(self, detected: str) -> None:
        super().__init__(detected)
        self.detected = detected

    def __str__(self) -> str:
        return (
            f"the file is not a document we accept: it looks like {self.detected}; "
            "send a PDF, or a scan as JPEG or PNG"
        )


class InvalidPdf(MediaError):
    """The bytes start like a PDF but do not parse as one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"the file starts like a PDF but cannot be read as one ({self.reason}); it may be "
            "damaged or incompletely uploaded: export it again and send the new file"
        )


@dataclass(frozen=True)
class DocumentInfo:
    content_type: DocumentType
    pages: int


def document_key(sha256_hex: str) -> str:
    """``documents/ab/cd/<sha256>``: apart from photos, so photo garbage collection, which
    walks ``originals/`` and ``derivatives/``, never sees a document."""
    digest = validate_sha256(sha256_hex)
    return validate_key(f"documents/{digest[:2]}/{digest[2:4]}/{digest}")


def inspect_document(data: bytes, *, max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES) -> DocumentInfo:
    """What the document is, or why it is refused (``TooLarge``, ``InvalidPdf``,
    ``NotADocument``, and for scans what :func:`media.inspect_image` raises)."""
    if len(data) > max_bytes:
        raise TooLarge(len(data), max_bytes)
    if data.startswith(_PDF):
        return DocumentInfo("application/pdf", _pdf_pages(data))
    try:
        image = inspect_image(data, max_pixels=_MAX_SCAN_PIXELS, max_bytes=max_bytes)
    except NotAnImage as exc:
        if exc.reason is None:
            raise NotADocument(describe(data)) from None
        raise
    if image.content_type not in DOCUMENT_CONTENT_TYPES:
        raise NotADocument(describe(data))
    content_type: DocumentType = "image/png" if image.content_type == "image/png" else "image/jpeg"
    return DocumentInfo(content_type, 1)


def _pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs what it repairs; the verdict is what counts, not its warnings.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        count = len(reader.pages)
        if count == 0:
            raise InvalidPdf("it has no pages")
        if count > MAX_PAGES:
            raise InvalidPdf(f"it has {count} pages, more than {MAX_PAGES}")
        for page in reader.pages:
            page.get_contents()
    except InvalidPdf:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InvalidPdf(str(exc) or type(exc).__name__) from None
    return count


class TypeMismatch(MediaError):
    """The bytes are a document we accept, but not of the type the upload declared."""

    def __init__(self, declared: str, actual: str) -> None:
        super().__init__(declared, actual)
        self.declared = declared
        self.actual = actual

    def __str__(self) -> str:
        return (
            f"the upload says {self.declared} but the bytes are {self.actual}: send it with "
            f"Content-Type {self.actual}, or send the file you meant"
        )

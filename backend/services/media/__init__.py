"""Photo evidence over the database: uploads and claims, access, derivatives, records waiting
for their photos, and garbage collection. Image and storage work is done by ``media``."""

from .errors import MediaHashMismatch, MediaNotFound, MediaNotUploaded, UploadMissing
from .receiving import Limits
from .uploads import ARRIVED, DERIVATIVES

__all__ = [
    "ARRIVED",
    "DERIVATIVES",
    "Limits",
    "MediaHashMismatch",
    "MediaNotFound",
    "MediaNotUploaded",
    "UploadMissing",
]

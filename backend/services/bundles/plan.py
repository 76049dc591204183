"""What a bundle is made of, as plain data: no session, no store, no Flask.

A scope collects a :class:`Plan` from the records (in a short transaction); everything after
that (rendering the summary, packing the ZIP) works from the plan alone, with no transaction
open. The plan's fingerprint hashes everything the ZIP's bytes depend on, so a request whose
fingerprint matches a stored bundle can reuse it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from media.bundle import Entry

# Bump when the summary templates, the layout of the ZIP or the manifest change: bundles built
# before are then built again on request instead of reused.
# 2: the records and documents behind the subject; 3: their labels; 4: the report scope (its
# styles are in every summary.html); 5: a file is stored once per bundle (manifest ``also``)
LAYOUT_VERSION = 5


@dataclass(frozen=True)
class Plan:
    scope: str
    subject_id: uuid.UUID
    title: str  # the bundle's name for a person: 隐患-YH-2026-000001
    files: tuple[Entry, ...]  # originals from the object store, named for a person
    summary: dict[str, Any]  # what summary.html and summary.pdf show (JSON-able)
    date_time: tuple[int, int, int, int, int, int]  # every ZIP entry's timestamp
    about: dict[str, Any] = field(default_factory=dict)  # the manifest's head

    def fingerprint(self) -> str:
        body = {
            "layout": LAYOUT_VERSION,
            "scope": self.scope,
            "subject": str(self.subject_id),
            "title": self.title,
            "files": [[f.name, f.sha256, f.size, dict(f.meta)] for f in self.files],
            "summary": self.summary,
            "date_time": self.date_time,
            "about": self.about,
        }
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=_jsonable)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} into a bundle plan")


def jsonable(value: Any) -> Any:
    """``value`` with dates, times and ids as strings, as the plan and templates hold them."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=_jsonable))


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "image/heif": "heif"}


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "bin")


def safe_segment(text: str, limit: int = 60) -> str:
    """A piece of a file name from free text: no slashes, controls or leading dots."""
    cleaned = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 0x20 else ch for ch in text)
    cleaned = cleaned.strip().lstrip(".") or "_"
    return cleaned[:limit]

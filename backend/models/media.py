"""Photo evidence: the bytes the server holds, which units proved they hold them, and which
records reference them.

A photo is addressed by the SHA-256 of its bytes. `media_objects` says the verified original is in
the object store (upload first, claim later: the row is written only after the bytes are). A
unit may use a photo once one of its users has uploaded the bytes (`media_claims`): knowing a
hash is never enough to see a photo or to complete a record with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit column.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class MediaObject(Base):
    """A verified original in the object store, and what its metadata says.

    `id` is a generation: a photo collected and later uploaded again is a new row, so the work
    recorded for it (derivatives) is asked for again.
    """

    __tablename__ = "media_objects"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(40))  # sniffed from the bytes
    width: Mapped[int]
    height: Mapped[int]
    orientation: Mapped[int | None]
    # EXIF DateTimeOriginal as an instant: with its recorded offset, else read as +08:00.
    taken_at: Mapped[datetime | None]
    info: Mapped[dict[str, Any]]  # media.ImageInfo.to_dict(), plus how taken_at was read
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Refreshed whenever a unit uploads the bytes: garbage collection counts from here.
    last_uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    derivatives: Mapped[dict[str, Any] | None]  # kind -> {width, height, size}
    derived_at: Mapped[datetime | None]
    # Set by garbage collection before it deletes the objects: from then on the photo counts as
    # absent everywhere, and an upload of the same bytes replaces this row with a new one.
    collecting_since: Mapped[datetime | None]

    # Ids are generations and outbox keys: SQLite must never hand out a deleted row's id again.
    __table_args__ = ({"sqlite_autoincrement": True},)


class MediaClaim(Base):
    """A unit proved it holds the bytes: one of its users uploaded them."""

    __tablename__ = "media_claims"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(
        ForeignKey("media_objects.sha256", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("sha256", "unit_id"), {"sqlite_autoincrement": True})


class InspectionMedia(Base):
    """Every photo and signature hash an inspection references (photos, findings, signatures)."""

    __tablename__ = "inspection_media"

    inspection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class MediaCollected(Base):
    """When garbage collection last deleted a photo's objects: an upload of the same bytes that
    was in flight at that moment stores them again instead of claiming a deleted object."""

    __tablename__ = "media_collected"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    collected_at: Mapped[datetime] = mapped_column(default=utcnow)

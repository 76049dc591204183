"""佐证 bundles: one verifiable ZIP per inspection, per hazard's whole loop (and, later, per
filed report). A row is one build of one subject from one set of inputs: the fingerprint hashes
everything the ZIP is made of, so asking again with unchanged inputs finds the stored bundle.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow


class BundleState(enum.StrEnum):
    queued = "queued"
    building = "building"
    ready = "ready"
    failed = "failed"


class Bundle(Base):
    __tablename__ = "bundles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(20))  # inspection | hazard | report
    subject_id: Mapped[uuid.UUID]
    # SHA-256 of the bundle's plan: every file's name and hash and the summary's data.
    fingerprint: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))  # also the download's file name
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[BundleState] = mapped_column(
        Enum(BundleState, native_enum=False, length=20), default=BundleState.queued
    )
    done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed
    # The summary: {"html": true, "pdf": true} or {"pdf": false, "pdf_skipped": "why"}.
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    key: Mapped[str | None] = mapped_column(String(300))  # the ZIP in the object store
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    # A build claims the row until then; a later worker may take over a lapsed claim.
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("scope", "subject_id", "fingerprint"),)


class NoticeCounter(Base):
    """The last notice number an issuing unit gave out per kind of notice and year."""

    __tablename__ = "notice_counters"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Notice(Base):
    """An official notice's number (责令整改通知, 复查意见, 挂牌督办), given once and kept: the same
    hazard or re-inspection prints the same number in every bundle."""

    __tablename__ = "notices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # rectification | reinspection | listing
    # What the notice is about: "hazard:<id>" or "event:<hazard event id>".
    subject: Mapped[str] = mapped_column(String(80))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int]
    serial: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "subject"),
        UniqueConstraint("unit_id", "kind", "year", "serial"),
    )

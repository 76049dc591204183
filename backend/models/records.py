"""Enforcement actions (执法措施) and activities (督导/宣讲/帮扶/培训 …): the records a 调度表
counts besides hazards (docs/records.md).

One table for both families: the columns every rule filters on (unit, kind, date, campaign,
enterprise, whether it counts) and the current version number. What each kind carries is its
`detail`, validated by the kind's schema (backend/services/records/kinds.py). A correction is a
new row in `record_versions`; no version is ever changed, so the state of a record at any
moment is the last version created before it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class RecordFamily(enum.StrEnum):
    enforcement = "enforcement"  # 执法措施
    activity = "activity"  # 工作开展情况


class Campaign(Base):
    """A programme a record belongs to. Only the 2023 专项行动 is what the 调度表 counts; the
    885 安全清单 is another programme (seed 001 complains of units mixing them up)."""

    __tablename__ = "campaigns"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]


class Record(Base):
    __tablename__ = "records"

    # Client-generated where a tablet records it offline (activity.save@1), so a replay finds it.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    family: Mapped[RecordFamily] = mapped_column(
        Enum(RecordFamily, native_enum=False, length=20, create_constraint=True)
    )
    kind: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    campaign_code: Mapped[str] = mapped_column(ForeignKey("campaigns.code"))
    enterprise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enterprises.id"))
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspections.id"))
    occurred_on: Mapped[date]
    version: Mapped[int] = mapped_column(default=1)
    # Whether the current version counts in a 调度表, and the codes of the rules it fails.
    countable: Mapped[bool] = mapped_column(default=True)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_records_unit_family_date", "unit_id", "family", "occurred_on", "id"),
        Index("ix_records_enterprise", "enterprise_id"),
    )


class RecordVersion(Base):
    """One version of a record: everything it said, who said it, when and why. Insert only."""

    __tablename__ = "record_versions"

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[dict[str, Any]]
    countable: Mapped[bool]
    flags: Mapped[list[Any]]
    reason: Mapped[str | None] = mapped_column(Text)  # None only for version 1
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordMedia(Base):
    """The photos and documents the current version of a record references (role photo or
    document): who may see them, and what the record still waits for."""

    __tablename__ = "record_media"

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class DocumentObject(Base):
    """A verified document (PDF or scan) in the object store; written after the bytes are."""

    __tablename__ = "document_objects"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(40))  # sniffed from the bytes
    pages: Mapped[int]
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentClaim(Base):
    """A unit holds the document: one of its users uploaded the bytes."""

    __tablename__ = "document_claims"

    sha256: Mapped[str] = mapped_column(
        ForeignKey("document_objects.sha256", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

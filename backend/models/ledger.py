"""Supervisor review and the hazard ledger (隐患台账).

A review is kept as a row per decision (an inspection may be returned, resubmitted and then
approved); approving also records each finding's confirmed level. A confirmed finding becomes
exactly one `hazards` row (the unique `finding_id` guarantees it), which then follows the closed
loop 待整改 → 整改中 → 待复查 → 已整改 → 已销号. Everything that happens to a hazard is a
`hazard_events` row; database triggers refuse UPDATE and DELETE on that table.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit column.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


DECISIONS = ("approve", "return", "reject")


class InspectionReview(Base):
    """One decision on one submitted inspection, by a supervisor of its unit."""

    __tablename__ = "inspection_reviews"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"))
    inspection_version: Mapped[int]  # the version the supervisor decided on
    decision: Mapped[str] = mapped_column(String(10))  # one of DECISIONS
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_inspection_reviews_inspection", "inspection_id", "id"),)


class FindingConfirmation(Base):
    """What the supervisor confirmed of a finding when approving its inspection."""

    __tablename__ = "finding_confirmations"

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id"), primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("inspection_reviews.id"), index=True)
    level: Mapped[str] = mapped_column(String(10))  # general | major
    rule: Mapped[str | None] = mapped_column(String(80))  # the checklist rule, if any
    # The catalogue clause (checklists/standards) a major cites; every major has one (0011).
    clause: Mapped[str | None] = mapped_column(String(80))
    # One situation, one major: a finding confirmed major under the same clause as an earlier
    # finding of its inspection joins that finding's ledger entry instead of making its own.
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("findings.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[date | None]  # 整改时限 as confirmed


class HazardState(enum.StrEnum):
    pending = "pending"  # 待整改
    rectifying = "rectifying"  # 整改中
    awaiting_reinspection = "awaiting_reinspection"  # 待复查
    rectified = "rectified"  # 已整改
    closed = "closed"  # 已销号
    voided = "voided"  # 已作废


class HazardSource(enum.StrEnum):
    self_reported = "self_reported"  # 企业自查
    department = "department"  # 部门检查


class Hazard(Base):
    """One entry of the hazard ledger: a confirmed finding and where its rectification stands."""

    __tablename__ = "hazards"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # YH-<year>-<serial>, unique per top-level unit (district) and never reused.
    number: Mapped[str] = mapped_column(String(40))
    district_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id"), unique=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    enterprise_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enterprises.id"), index=True)
    sector: Mapped[str] = mapped_column(String(40))
    source: Mapped[HazardSource] = mapped_column(Enum(HazardSource, native_enum=False, length=20))
    level: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str | None] = mapped_column(String(80))
    rule_label: Mapped[str | None] = mapped_column(String(300))  # 《…判定标准》第十三条（一）
    clause: Mapped[str | None] = mapped_column(String(80))  # catalogue code; set on every major
    # The findings this entry stands for, lead first (several for one situation, one major).
    findings: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    override_reason: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)  # 隐患描述
    requirement: Mapped[str | None] = mapped_column(Text)  # 整改要求
    deadline: Mapped[date | None]  # 整改时限, moved by extensions
    original_deadline: Mapped[date | None]
    found_on: Mapped[date]  # the inspection's date (China time)
    before_photos: Mapped[list[Any]] = mapped_column(default=list)
    after_photos: Mapped[list[Any]] = mapped_column(default=list)
    confirmed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime]
    state: Mapped[HazardState] = mapped_column(
        Enum(HazardState, native_enum=False, length=30), default=HazardState.pending
    )
    listed_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))  # 挂牌督办
    listed_on: Mapped[date | None]
    measures: Mapped[str | None] = mapped_column(Text)  # 整改措施, as last reported
    funds_yuan: Mapped[int | None] = mapped_column(BigInteger)  # 整改资金
    responsible_person: Mapped[str | None] = mapped_column(String(100))  # 整改责任人
    # 一患一策 of a major: responsible_person, measures, funds_yuan, deadline, emergency_plan.
    plan: Mapped[dict[str, Any] | None]
    # 挂牌督办: 文号 (numbered per listing unit and year), 政府/部门 level, 督办要求, 期限, 摘牌.
    listing_number: Mapped[str | None] = mapped_column(String(80))
    listing_level: Mapped[str | None] = mapped_column(String(20))
    listing_requirements: Mapped[str | None] = mapped_column(Text)
    listing_deadline: Mapped[date | None]
    delisted_on: Mapped[date | None]
    # 企业自查: when and how the department received the enterprise's report (接报).
    reported_at: Mapped[datetime | None]
    report_channel: Mapped[str | None] = mapped_column(String(40))
    rectified_at: Mapped[datetime | None]  # passed re-inspection
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("district_id", "number"),
        Index("ix_hazards_unit_number", "unit_id", "number", "id"),
        Index("ix_hazards_state_deadline", "state", "deadline"),
        Index("ix_hazards_listed_unit", "listed_unit_id"),
    )


class HazardEvent(Base):
    """Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "hazard_events"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    hazard_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hazards.id"))
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    state_before: Mapped[str | None] = mapped_column(String(30))
    state_after: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_hazard_events_hazard", "hazard_id", "id"),)


class ListingCounter(Base):
    """The last 挂牌督办 文号 serial per listing unit and year."""

    __tablename__ = "listing_counters"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class LedgerCounter(Base):
    """The last number given out per district and year: numbers only ever go up."""

    __tablename__ = "ledger_counters"

    district_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)

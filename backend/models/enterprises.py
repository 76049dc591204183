"""Inspected businesses (被检查单位 / 生产经营单位)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, new_id, utcnow
from .organisation import Unit


class EntityType(enum.StrEnum):
    """What kind of 生产经营单位 it is, as 填表说明 3 (seed 000) distinguishes them: 企业 and
    个体工商户 both count as enterprises; a 非生产经营单位 is not one."""

    enterprise = "enterprise"  # 企业
    individual_business = "individual_business"  # 个体工商户
    non_business = "non_business"  # 非生产经营单位


ENTITY_TYPE_LABELS = {
    EntityType.enterprise: "企业",
    EntityType.individual_business: "个体工商户",
    EntityType.non_business: "非生产经营单位",
}


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # 统一社会信用代码 (GB 32100), checked with its check character when given.
    credit_code: Mapped[str | None] = mapped_column(String(18))
    sector: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    entity_type: Mapped[EntityType] = mapped_column(
        Enum(EntityType, native_enum=False, length=30, create_constraint=True),
        default=EntityType.enterprise,
        server_default=EntityType.enterprise.value,
    )
    key_enterprise: Mapped[bool] = mapped_column(default=False, server_default=false())  # 重点企业
    # The town (镇街) it lies in: towns report 全口径, so a department's records count there too.
    town_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("uq_enterprises_unit_credit_code", "unit_id", "credit_code", unique=True),
        Index("ix_enterprises_unit_name", "unit_id", "name", "id"),
    )

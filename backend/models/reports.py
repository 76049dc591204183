"""A filed 调度表: the frozen copy a unit files for a period (docs/reports.md).

Each filing is a new row; filing again for the same template, unit and period is the next
version, with the reason and the differences from the last one (a restatement, never a silent
change). ``figures`` is the report as filed, ``cells`` the record versions behind every cell,
``sha256`` the hash of both in canonical JSON.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow


class ReportFiling(Base):
    __tablename__ = "report_filings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    template_id: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    period_from: Mapped[date]
    period_to: Mapped[date]
    version: Mapped[int]
    figures: Mapped[dict[str, Any]]
    cells: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    preparer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))  # 填表人
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))  # 审核人
    due: Mapped[date | None]
    on_time: Mapped[bool]  # False: 迟报
    reason: Mapped[str | None] = mapped_column(Text)  # a restatement's reason
    differences: Mapped[list[Any]] = mapped_column(default=list)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("template_id", "unit_id", "period_from", "period_to", "version"),
        Index("ix_report_filings_unit", "unit_id", "template_id", "period_to"),
    )

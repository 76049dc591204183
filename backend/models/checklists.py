"""Published checklist versions. A row, once written, never changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Checklist(Base):
    __tablename__ = "checklists"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40))


class ChecklistVersion(Base):
    __tablename__ = "checklist_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    checklist_code: Mapped[str] = mapped_column(ForeignKey("checklists.code"))
    version: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    # The whole version as the API serves it; item rows below index it.
    content: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("checklist_code", "version"),)


class ChecklistItem(Base):
    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    code: Mapped[str] = mapped_column(String(80))
    parent_code: Mapped[str | None] = mapped_column(String(80))
    seq: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    defect_answer: Mapped[str] = mapped_column(String(3))

    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        Index("ix_checklist_items_version_position", "version_id", "position"),
    )

"""The tablet protocol's bookkeeping: applied commands per device, and the change log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit column.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class SyncCommand(Base):
    """One applied (or rejected) command; its stored result answers every replay."""

    __tablename__ = "sync_commands"

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    command_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(80))
    payload_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, Any]]
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class Change(Base):
    """A row per change per bucket, written in the same transaction as the change.

    `txid` is the writing transaction's id on PostgreSQL (0 on SQLite, where one writer at a
    time makes the row id enough): pull serves (txid, id) in order and only below the oldest
    transaction still running, so a late commit is never skipped.
    """

    __tablename__ = "sync_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    bucket: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    # Plain json, not jsonb, on PostgreSQL (with lz4 where the server has it): the log is only
    # ever read back whole, and parsing snapshots into jsonb and compressing them with pglz was
    # about 5 ms of every push of 50 inspections (migration 0008).
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_sync_changes_bucket_position", "bucket", "txid", "id"),)


class SyncMeta(Base):
    """Settings of this database for the protocol (its identity, for cursors)."""

    __tablename__ = "sync_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))

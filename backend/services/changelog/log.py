"""Change rows, the buckets that scope them, and appending them to the log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.models import Change, Role, SyncMeta, User
from backend.services import bulk

GLOBAL = "global"


def unit_bucket(unit_id: uuid.UUID) -> str:
    return f"unit:{unit_id}"


def user_bucket(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def supervisors_bucket(unit_id: uuid.UUID) -> str:
    """What only the unit's supervisors may see: hazards of other units it lists (挂牌督办)."""
    return f"supervisors:{unit_id}"


def buckets_of(user: User) -> list[str]:
    """The buckets a user's device may pull, in the order pull serves them."""
    buckets = [GLOBAL, unit_bucket(user.unit_id), user_bucket(user.id)]
    if user.role is Role.supervisor:
        buckets.append(supervisors_bucket(user.unit_id))
    return buckets


@dataclass(frozen=True)
class ChangeRow:
    bucket: str
    entity_type: str
    entity_id: str
    op: str
    version: int
    data: dict[str, Any] | None


def transaction_id(session: Session) -> int:
    """The writing transaction's id on PostgreSQL (0 on SQLite), asked once per transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    root = session.get_transaction()
    cached = session.info.get("txid")
    if cached is not None and cached[0] is root:
        return int(cached[1])
    txid = int(session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())
    session.info["txid"] = (root, txid)
    return txid


def record(session: Session, rows: Iterable[ChangeRow]) -> None:
    values = [
        {
            "bucket": r.bucket,
            "entity_type": r.entity_type,
            "entity_id": r.entity_id,
            "op": r.op,
            "version": r.version,
            "data": r.data,
        }
        for r in rows
    ]
    if values:
        txid = transaction_id(session)
        for value in values:
            value["txid"] = txid
        # Core insert on the table: one multi-row statement, even when some values are None.
        bulk.insert_rows(session, Change.__table__, values)


def database_id(session: Session) -> str:
    return session.scalars(select(SyncMeta.value).where(SyncMeta.key == "database_id")).one()

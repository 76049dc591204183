"""JSON columns store any JSON value a request can carry, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text

from backend.models import AuditEntry


def test_json_beyond_the_fast_encoder_is_stored_and_read_back(connection: Connection) -> None:
    deep: list[Any] = []
    for _ in range(300):  # the fast encoder stops at 254 levels
        deep = [deep]
    data = {"big": 2**70 + 1, "text": "未设置警示标志", "deep": deep, "tiny": 1e-7}
    connection.execute(
        AuditEntry.__table__.insert().values(
            action="x.test", entity_type="x", entity_id="1", data=data, at=text("CURRENT_TIMESTAMP")
        )
    )
    stored = connection.scalar(select(AuditEntry.data).where(AuditEntry.action == "x.test"))
    assert stored == data

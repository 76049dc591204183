"""Writing many rows at once: COPY on PostgreSQL, one executemany elsewhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Enum, Table, insert
from sqlalchemy.orm import Session

COPY_FROM = 200  # below this, COPY's set-up costs more than it saves


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) into `table`, inside the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_FROM and _plain(table):
        columns = list(rows[0])
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        driver: Any = connection.connection.driver_connection  # psycopg's own connection
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    # A Core insert on the table: psycopg pipelines it; the ORM's bulk insert would split the
    # rows into separate statements wherever some values are None.
    session.execute(insert(table), rows)


def _plain(table: Table) -> bool:
    """Columns psycopg's COPY adapts as they are (no JSON, no Enum objects)."""
    return not any(isinstance(c.type, JSON | Enum) for c in table.columns)

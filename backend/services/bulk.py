"""Writing many rows at once: COPY on PostgreSQL, one executemany elsewhere."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.types.json import Json, Jsonb
from sqlalchemy import JSON, Dialect, Enum, Table, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

COPY_FROM = 20  # below this, COPY's set-up costs more than it saves


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) into `table`, inside the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        # A Core insert on the table: psycopg pipelines it; the ORM's bulk insert would split
        # the rows into separate statements wherever some values are None.
        session.execute(insert(table), rows)
        return
    rows = _with_defaults(table, rows)
    columns = list(rows[0])
    values_of = operator.itemgetter(*columns) if len(columns) > 1 else _single(columns[0])
    adapted = [
        (n, a)
        for n, a in enumerate(_adapter(table, c, connection.dialect) for c in columns)
        if a is not None
    ]
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    driver: Any = connection.connection.driver_connection  # psycopg's own connection
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            if not adapted:
                for row in rows:
                    copy.write_row(values_of(row))
            else:
                for row in rows:
                    values = list(values_of(row))
                    for n, adapt in adapted:
                        values[n] = adapt(values[n])
                    copy.write_row(values)
    except psycopg.Error as error:
        # What SQLAlchemy raises for the same failure of an INSERT (IntegrityError for a
        # violated key, ...), so callers handle both paths alike.
        raise DBAPIError.instance(sql, None, error, psycopg.Error) from error


def _single(column: str) -> Callable[[dict[str, Any]], tuple[Any]]:
    return lambda row: (row[column],)


def _with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """COPY skips SQLAlchemy's Python-side defaults too: fill them in (never key columns)."""
    fills = {}
    for column in table.columns:
        default = column.default
        if column.key in rows[0] or column.primary_key or default is None:
            continue
        if default.is_callable:
            fills[column.key] = default.arg
        elif default.is_scalar:
            fills[column.key] = (lambda v: lambda _ctx: v)(default.arg)
    if not fills:
        return rows
    return [{**row, **{key: make(None) for key, make in fills.items()}} for row in rows]


def _adapter(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    """COPY skips SQLAlchemy's type processing: give psycopg what the column type would, for
    the types that need it (psycopg writes everything else as SQLAlchemy would)."""
    kind = table.c[column].type.dialect_impl(dialect)
    if isinstance(kind, JSONB):
        return _jsonb
    if isinstance(kind, JSON):
        return _json
    if isinstance(kind, Enum):
        return _enum
    return None


def _jsonb(value: Any) -> Any:
    return None if value is None else Jsonb(value)


def _json(value: Any) -> Any:
    return None if value is None else Json(value)


def _enum(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value

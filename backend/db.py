"""Engine and session factory. Nothing connects at import time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work for jobs and commands: commits once at the end, or rolls back."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def insert(session: Session, table: Table | type[DeclarativeBase]) -> Any:
    """An INSERT into `table` that can end in ON CONFLICT DO NOTHING / DO UPDATE on whichever
    database the session is on: SQLAlchemy spells the clause alike for PostgreSQL and SQLite,
    but each has its own construct."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(
            url,
            connect_args={"timeout": 30},
            json_serializer=_json_text,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # psycopg takes the JSON encoder for json/jsonb columns (COPY included) from the engine.
    return create_engine(url, pool_pre_ping=True, json_serializer=_json_bytes)


# JSON columns are written with orjson: about ten times faster than the json module at the
# change log's inspection snapshots. Same JSON values; non-ASCII text is stored as UTF-8 rather
# than as \u escapes. What orjson refuses (integers beyond 64 bits, nesting deeper than 254
# levels: an amendment keeps a tablet's arguments as sent) falls back to the json module.
# Reading stays with the json module: orjson would turn integers beyond 64 bits into floats.
def _json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def _json_text(value: Any) -> str:
    return _json_bytes(value).decode()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver so BEGIN IMMEDIATE below is honoured.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # One writer at a time, taken up front: no lock upgrades that fail under load. Read-only
    # snapshots (pull) ask for a DEFERRED begin so they never hold the write lock.
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")

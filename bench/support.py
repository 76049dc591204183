"""What the PostgreSQL benchmarks share: a throw-away database, the app, signing in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from backend.app import create_app
from backend.config import Config

PASSWORD = "bench password 1234"


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """CREATE DATABASE anjian_bench_<random>; DROP it (WITH FORCE) whatever happens."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"anjian_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(database_url: str, data_dir: Path, **environment: str) -> Flask:
    return create_app(
        Config.from_env(
            {
                "ANJIAN_ENV": "test",
                "ANJIAN_DATA_DIR": str(data_dir),
                "DATABASE_URL": database_url,
                "SECRET_KEY": "b" * 40,
                "LOG_LEVEL": "WARNING",
                **environment,
            }
        )
    )


def login(client: FlaskClient, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.json
    return {"Authorization": f"Bearer {reply.json['access_token']}"}

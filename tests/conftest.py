"""Fixtures shared by the whole suite.

Database tests run on SQLite and on a real PostgreSQL (a fresh database per test session on the
server at TEST_POSTGRES_URL, default the local one). Each test runs inside a transaction that is
rolled back at the end; the app under test shares that connection. Where PostgreSQL or Redis is
not reachable those tests skip with the reason, except with CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

import checklists
from backend import migrate
from backend.app import create_app
from backend.config import Config
from backend.db import make_engine
from backend.services import checklists as checklist_service

pytest_plugins = ["tests.support.s3"]

AppFactory = Callable[..., Flask]

CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def unavailable(reason: str) -> None:
    """Skip, or fail under CI=true, where every real service must be there."""
    if CI:
        pytest.fail(f"{reason} (CI=true: integration tests may not skip)")
    pytest.skip(reason)


def prepare_database(engine: Engine) -> None:
    migrate.upgrade(engine)
    with Session(engine) as session:
        checklist_service.publish(session, checklists.load_directory())
        session.commit()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    admin = create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"anjian_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}")
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        prepare_database(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated database that live tests clone (CREATE DATABASE ... TEMPLATE)."""
    admin = _postgres_admin()
    name = f"anjian_tmpl_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    prepare_database(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _postgres_admin() -> Engine:
    admin = create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect():
            pass
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}")
    return admin


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database of its own, where commits are real: for tests of what other
    transactions see (pull), of concurrency, and of killed processes."""
    if request.param == "sqlite":
        path = tmp_path / "live.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    template = request.getfixturevalue("postgres_template")
    admin = _postgres_admin()
    name = f"anjian_live_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def live_session(live_engine: Engine) -> Iterator[Session]:
    with Session(live_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def live_app(live_engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    url = live_engine.url.render_as_string(hide_password=False)
    flask_app = create_app(make_config(tmp_path, url))
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["anjian"].db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")  # type: ignore[no-any-return]


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


def bound_sessionmaker(conn: Connection) -> sessionmaker[Session]:
    # Commits inside the code under test release a savepoint; the test's outer transaction
    # is rolled back at the end, so every test starts from the same database.
    return sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    s = bound_sessionmaker(connection)()
    yield s
    s.close()


def make_config(tmp_path: Path, database_url: str, **extra: str) -> Config:
    return Config.from_env(
        {
            "ANJIAN_ENV": "test",
            "ANJIAN_DATA_DIR": str(tmp_path),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "t" * 40,
            **extra,
        }
    )


@pytest.fixture
def make_app(engine: Engine, connection: Connection, tmp_path: Path) -> Iterator[AppFactory]:
    """Build apps on the test's connection; keyword arguments are extra environment."""
    apps: list[Flask] = []

    def factory(**extra: str) -> Flask:
        url = engine.url.render_as_string(hide_password=False)
        flask_app = create_app(make_config(tmp_path, url, **extra))
        flask_app.config["TESTING"] = True
        flask_app.extensions["anjian"].db.sessionmaker = bound_sessionmaker(connection)
        apps.append(flask_app)
        return flask_app

    yield factory
    for flask_app in apps:
        flask_app.extensions["anjian"].db.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def redis_url() -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")
    return REDIS_URL

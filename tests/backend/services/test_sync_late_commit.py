"""A pull cursor never skips a change whose transaction began earlier but committed later."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from backend.models import Device, User
from backend.services import changelog as changes
from backend.services.sync import pull
from tests.conftest import POSTGRES_ADMIN_URL
from tests.factories import make_unit, make_user


def _reader(engine: Engine) -> Session:
    session = Session(engine, expire_on_commit=False)
    options = (
        {"isolation_level": "REPEATABLE READ"}
        if engine.dialect.name == "postgresql"
        else {"sqlite_begin": "DEFERRED"}
    )
    session.connection(execution_options=options)
    return session


def _pull(
    engine: Engine, user: User, device_id: uuid.UUID, cursors: dict[str, str | None]
) -> tuple[list[str], dict[str, str | None]]:
    with _reader(engine) as session:
        result = pull.pull(session, session.get(User, user.id), device_id, cursors, 100)
        session.rollback()
    probes = [c["id"] for c in result.changes if c["type"] == "probe"]
    return probes, {**cursors, **result.cursors}


def _write(engine: Engine, bucket: str, name: str) -> Session:
    session = Session(engine)
    changes.record(session, [changes.ChangeRow(bucket, "probe", name, "upsert", 1, {})])
    return session


def test_a_transaction_that_commits_late_is_pulled_once(
    live_engine: Engine, live_session: Session
) -> None:
    user = make_user(live_session, make_unit(live_session))
    device = Device(id=uuid.uuid4(), user_id=user.id)
    live_session.add(device)
    live_session.commit()
    bucket = changes.user_bucket(user.id)
    _, cursors = _pull(live_engine, user, device.id, {})

    early = _write(live_engine, bucket, "began-first")  # still open
    if live_engine.dialect.name == "postgresql":
        _write(live_engine, bucket, "began-second").commit()
        late = None
    else:  # one writer at a time: the second waits for the first
        late = threading.Thread(target=lambda: _write(live_engine, bucket, "began-second").commit())
        late.start()

    first, cursors = _pull(live_engine, user, device.id, cursors)
    assert first == []  # nothing may be served past a transaction still running

    early.commit()
    if late is not None:
        late.join(timeout=30)
    second, cursors = _pull(live_engine, user, device.id, cursors)
    third, _ = _pull(live_engine, user, device.id, cursors)
    assert sorted(first + second + third) == ["began-first", "began-second"]


@pytest.mark.postgres
@pytest.mark.parametrize("live_engine", ["postgres"], indirect=True)
def test_a_transaction_running_in_another_database_of_the_server_does_not_hold_pulls_back(
    live_engine: Engine,
) -> None:
    """Transaction ids are cluster-wide: another application's long transaction on the same
    PostgreSQL server must not stop every tablet's pull (it did, through pg_snapshot_xmin)."""
    engine = live_engine
    with Session(engine, expire_on_commit=False) as setup:
        user = make_user(setup, make_unit(setup))
        device = Device(id=uuid.uuid4(), user_id=user.id)
        setup.add(device)
        setup.commit()
    bucket = changes.user_bucket(user.id)
    _, cursors = _pull(engine, user, device.id, {})

    elsewhere = create_engine(POSTGRES_ADMIN_URL)  # the server's `postgres` database
    try:
        with elsewhere.connect() as other:
            other.execute(text("SELECT pg_current_xact_id()"))  # holds an id, stays open
            _write(engine, bucket, "committed-here").commit()
            served, _ = _pull(engine, user, device.id, cursors)
            other.rollback()
    finally:
        elsewhere.dispose()
    assert served == ["committed-here"]

"""A push survives the API process being killed (SIGKILL) in the middle of it.

The server is a real ``anjian run`` process on a database of its own. A tablet sends one push of
200 ``inspection.save@1`` commands, and the process is SIGKILLed at a known place: the server is
started with a fault point armed (``ANJIAN_FAULT``, backend/faults.py), stops there and says so
through a FIFO, and only then is it killed. No timing decides where the kill lands.

- Killed inside the push's open transaction (everything written, nothing committed): nothing is
  stored, and the identical push sent to a restarted server applies every command.
- Killed between the commit and the reply: everything is stored, the tablet saw only a dropped
  connection, and the identical push gets every command back as a duplicate.

Both are the property a tablet relies on: what a kill leaves is a prefix of the commands, each
wholly stored or not at all, with the device's ``last_seq`` at the end of that prefix.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

import checklists
from backend.models import Change, Device, Finding, Inspection, InspectionAnswer, SyncCommand
from tests.factories import PASSWORD, make_enterprise, make_unit, make_user
from tests.support.server import ApiServer
from tests.sync_support import finding, save_args

COMMANDS = 200
FINDINGS = 2
REACH_TIMEOUT = 60.0  # seconds for the push to reach the fault point
REPLY_TIMEOUT = 60.0
SETTLE_TIMEOUT = 10.0
OPEN_TRANSACTIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
)
STORED_BY_THE_KILL = {"push.before_commit": 0, "push.after_commit": COMMANDS}


@dataclass(frozen=True)
class Sent:
    """The push as the tablet sent it."""

    device_id: uuid.UUID
    headers: dict[str, str]
    body: dict[str, Any]
    answers: int

    @property
    def inspection_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(m["args"]["id"]) for m in self.body["mutations"]]

    @property
    def command_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(m["id"]) for m in self.body["mutations"]]


@dataclass(frozen=True)
class Stored:
    """What the database holds for the device, read directly."""

    last_seq: int
    commands: dict[int, uuid.UUID]  # seq -> command id
    inspections: set[uuid.UUID]
    answers: dict[uuid.UUID, int]  # per inspection
    findings: dict[uuid.UUID, int]
    changes: dict[str, int]  # per inspection id, across buckets


@pytest.fixture
def server(live_engine: Engine, tmp_path: Path) -> Iterator[ApiServer]:
    api = ApiServer(live_engine.url.render_as_string(hide_password=False), tmp_path)
    try:
        yield api
    finally:
        api.stop()


@pytest.mark.parametrize("point", list(STORED_BY_THE_KILL))
def test_a_push_killed_midway_leaves_a_whole_prefix_and_the_retry_applies_the_rest(
    live_engine: Engine, live_session: Session, server: ApiServer, tmp_path: Path, point: str
) -> None:
    username, enterprise_id = _world(live_session)
    fifo = tmp_path / "fault"
    os.mkfifo(fifo)
    server.start(ANJIAN_FAULT=f"{point}={fifo}")
    sent = _tablet_push(server, live_session, username, enterprise_id)

    _kill_at_fault_point(server, live_engine, sent, fifo, point)

    before = _stored(live_engine, sent.device_id)
    _assert_whole_prefix(before, sent)
    assert before.last_seq == STORED_BY_THE_KILL[point]

    server.start()
    reply = server.request(
        "POST", "/api/v1/sync/push", sent.body, sent.headers, timeout=REPLY_TIMEOUT
    )
    assert reply.status == 200, reply.body[:500]
    assert reply.json["applied_through"] == COMMANDS
    assert [r["seq"] for r in reply.json["results"]] == list(range(1, COMMANDS + 1))
    assert [r["status"] for r in reply.json["results"]] == (
        ["duplicate"] * before.last_seq + ["applied"] * (COMMANDS - before.last_seq)
    )
    after = _stored(live_engine, sent.device_id)
    _assert_whole_prefix(after, sent)
    assert after.last_seq == COMMANDS


def _world(session: Session) -> tuple[str, uuid.UUID]:
    unit = make_unit(session)
    enterprise = make_enterprise(session, unit, sector="confined_space")
    inspector = make_user(session, unit)
    session.commit()  # never hold a transaction (on SQLite, the write lock) while the app works
    return inspector.username, enterprise.id


def _tablet_push(
    server: ApiServer, session: Session, username: str, enterprise_id: uuid.UUID
) -> Sent:
    """Sign in and register a tablet over HTTP; build its push of COMMANDS new inspections."""
    token = server.request(
        "POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD}
    )
    assert token.status == 200, token.body[:500]
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    device_id = uuid.uuid4()
    registered = server.request(
        "POST", "/api/v1/sync/devices", {"device_id": str(device_id)}, headers
    )
    assert registered.status == 200, registered.body[:500]

    # The latest version, the one save_args pins (load_directory sorts by label).
    version = [v for v in checklists.load_directory() if v.code == "confined_space"][-1]
    codes = list(version.all_codes())
    mutations = [
        {
            "seq": seq,
            "id": str(uuid.uuid4()),
            "name": "inspection.save@1",
            "args": save_args(
                session,
                enterprise_id,
                answers=dict.fromkeys(codes, "yes"),
                findings=[finding([code]) for code in codes[:FINDINGS]],
            ),
        }
        for seq in range(1, COMMANDS + 1)
    ]
    session.commit()
    body = {"device_id": str(device_id), "protocol": 1, "mutations": mutations}
    return Sent(device_id, headers, body, len(codes))


def _kill_at_fault_point(
    server: ApiServer, engine: Engine, sent: Sent, fifo: Path, point: str
) -> None:
    """Send the push from a thread; SIGKILL the server once it says it stopped at `point`."""
    with ThreadPoolExecutor(1) as pool:
        push: Future[Any] = pool.submit(
            server.request,
            "POST",
            "/api/v1/sync/push",
            sent.body,
            sent.headers,
            timeout=REPLY_TIMEOUT,
        )
        try:
            assert _wait_reached(fifo, push) == point
        finally:
            server.kill()
        error = push.exception(timeout=REPLY_TIMEOUT)
    # The kill came before the reply: the tablet saw the connection drop, not an answer.
    assert isinstance(error, ConnectionError | http.client.HTTPException), (
        f"the push was not cut off by the kill: {error or push.result().status}"
    )
    _wait_settled(engine)


def _wait_reached(fifo: Path, push: Future[Any]) -> str:
    """The point the server names on the FIFO once it stops there."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the server's open for writing through
    try:
        said = b""
        deadline = time.monotonic() + REACH_TIMEOUT
        while not said.endswith(b"\n"):
            assert not push.done(), f"the push ended before the fault point: {push.result()}"
            assert time.monotonic() < deadline, f"no fault point reached in {REACH_TIMEOUT} s"
            with contextlib.suppress(BlockingIOError):  # open on its side, not written yet
                said += os.read(fd, 100)
            time.sleep(0.005)
        return said.decode().split()[0]  # "<point> <pid>"
    finally:
        os.close(fd)


def _wait_settled(engine: Engine) -> None:
    """On PostgreSQL, wait for the dead server's backends to end (and their transactions to
    abort) before reading: a backend finds out its client is gone only when it next talks."""
    if engine.dialect.name != "postgresql":
        return  # the kernel dropped SQLite's locks with the process
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while connection.execute(OPEN_TRANSACTIONS).scalar_one():
            assert time.monotonic() < deadline, "the killed server's transaction is still open"
            time.sleep(0.01)


def _stored(engine: Engine, device_id: uuid.UUID) -> Stored:
    with Session(engine) as session:
        device = session.get(Device, device_id)
        assert device is not None
        inspections = set(
            session.scalars(select(Inspection.id).where(Inspection.device_id == device_id))
        )
        return Stored(
            last_seq=device.last_seq,
            commands=dict(
                session.execute(
                    select(SyncCommand.seq, SyncCommand.command_id).where(
                        SyncCommand.device_id == device_id
                    )
                ).all()
            ),
            inspections=inspections,
            answers=_count_by(session, InspectionAnswer.inspection_id),
            findings=_count_by(session, Finding.inspection_id),
            changes=dict(
                session.execute(
                    select(Change.entity_id, func.count())
                    .where(Change.entity_type == "inspection")
                    .group_by(Change.entity_id)
                ).all()
            ),
        )


def _count_by(session: Session, column: Any) -> dict[uuid.UUID, int]:
    return dict(session.execute(select(column, func.count()).group_by(column)).all())


def _assert_whole_prefix(stored: Stored, sent: Sent) -> None:
    """Commands 1..last_seq are stored whole; nothing of the others is stored at all."""
    n = stored.last_seq
    assert 0 <= n <= COMMANDS
    assert stored.commands == dict(zip(range(1, n + 1), sent.command_ids[:n], strict=True))
    applied = sent.inspection_ids[:n]
    assert stored.inspections == set(applied)
    assert stored.answers == dict.fromkeys(applied, sent.answers)
    assert stored.findings == dict.fromkeys(applied, FINDINGS)
    # One change for the unit's devices, one for the inspector's own.
    assert stored.changes == dict.fromkeys(map(str, applied), 2)

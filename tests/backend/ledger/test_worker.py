"""Ledger entries by the worker: exactly one per confirmed finding, whatever the workers and
Redis do. The database's unique finding_id is the guarantee; the outbox row lock only saves
work.

The tests with real workers run `anjian worker` processes against a PostgreSQL database of
their own and a real Redis (a database of its own on the test server, so `flushdb` elsewhere
cannot touch it, nor it anything else).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.extensions import Services
from backend.jobs import outbox as outbox_jobs
from backend.jobs import runtime
from backend.jobs.runtime import QUEUE, RqDispatcher
from backend.models import Hazard, OutboxItem, utcnow
from backend.services.ledger import entries
from tests.backend.ledger.support import RecordingDispatcher, Submitted, World
from tests.conftest import make_config
from tests.support.server import INHERITED_NOT, anjian_command

SLOW_WORKER = Path(__file__).with_name("slow_worker.py")
HOLDING_WORKER = Path(__file__).with_name("holding_worker.py")
WORKER_APP = "anjian-test-worker"  # application_name of the workers' PostgreSQL connections
LEDGER_REDIS_DB = 13
WAIT = 60.0


def _entries(session: Session, inspection_id: Any) -> list[Hazard]:
    session.expire_all()
    return list(
        session.scalars(
            select(Hazard).where(Hazard.inspection_id == inspection_id).order_by(Hazard.number)
        )
    )


# --- in the test's transaction -------------------------------------------------------------------


def test_running_the_job_again_adds_nothing(world: World) -> None:
    first = world.approved()
    inspection_id = first[0].inspection_id
    assert entries.create_for_inspection(world.session, inspection_id) == []
    assert [h.number for h in _entries(world.session, inspection_id)] == [h.number for h in first]


def test_several_inspections_at_once_make_the_same_entries_in_the_order_given(
    world: World,
) -> None:
    """The worker's batches: entries of several approvals in one call, numbered in the order of
    the call, each with its own inspection's data; again, nothing."""
    one_by_one = world.approved()
    submitted = [world.submit(), world.submit()]
    for inspection in submitted:
        assert world.review(inspection.id, inspection.approval()).status_code == 200
    ids = [submitted[1].id, submitted[0].id]
    made = entries.create_for_inspections(world.session, ids)
    assert [h.inspection_id for h in made] == [ids[0], ids[0], ids[1], ids[1]]
    numbers = [h.number for h in made]
    assert numbers == sorted(numbers)
    assert numbers[0] > one_by_one[-1].number
    for inspection in submitted:
        [major, general] = _entries(world.session, inspection.id)
        assert {major.finding_id, general.finding_id} == {
            inspection.major_finding,
            inspection.general_finding,
        }
        like = one_by_one[[h.level for h in one_by_one].index(major.level)]
        assert (major.rule, major.rule_label, major.source) == (
            like.rule,
            like.rule_label,
            like.source,
        )
    assert entries.create_for_inspections(world.session, ids) == []


def test_the_database_refuses_a_second_entry_for_a_finding(world: World) -> None:
    [major, _general] = world.approved()
    copy = {c.key: getattr(major, c.key) for c in Hazard.__table__.columns if c.key != "id"}

    def insert_another() -> None:
        with world.session.begin_nested():
            world.session.add(Hazard(**{**copy, "number": "YH-0000-999999"}))
            world.session.flush()

    with pytest.raises(IntegrityError):
        insert_another()


def test_numbers_go_on_and_are_never_reused(world: World) -> None:
    first = world.approved()
    second = world.approved()
    numbers = [h.number for h in [*first, *second]]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 4
    assert numbers[-1].endswith("000004")


def test_an_admin_lists_failed_jobs_with_their_last_error_and_retries_them(world: World) -> None:
    submitted = world.submit()
    world.review(submitted.id, submitted.approval())
    [row] = world.session.scalars(select(OutboxItem)).all()
    row.status, row.attempts, row.last_error = "failed", 8, "OperationalError: server closed"
    world.session.commit()
    inspector = world.client.get(
        "/api/v1/admin/jobs/failed", headers=world.headers(world.inspector)
    )
    assert inspector.status_code == 403
    town_admin = world.client.get(
        "/api/v1/admin/jobs/failed",
        headers=world.headers(_town_admin(world)),
    )
    assert town_admin.status_code == 403
    listed = world.client.get("/api/v1/admin/jobs/failed", headers=world.headers(world.admin)).json
    assert [(j["id"], j["key"], j["last_error"]) for j in listed["items"]] == [
        (row.id, f"ledger:{submitted.id}", "OperationalError: server closed")
    ]
    world.jobs.jobs.clear()
    retried = world.client.post(
        f"/api/v1/admin/jobs/{row.id}/retry", headers=world.headers(world.admin)
    )
    assert retried.json == {"id": row.id, "status": "pending"}
    assert world.jobs.run_all() == ["done"]
    assert len(_entries(world.session, submitted.id)) == 2
    again = world.client.post(
        f"/api/v1/admin/jobs/{row.id}/retry", headers=world.headers(world.admin)
    )
    assert (again.status_code, again.json["code"]) == (409, "jobs.not_failed")


def _town_admin(world: World) -> Any:
    from backend.models import Role
    from tests.factories import make_user

    return make_user(world.session, world.town, Role.admin)


# --- real commits --------------------------------------------------------------------------------


@pytest.fixture
def live_world(live_app: Flask, live_session: Session) -> World:
    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    runtime.bind(live_app.extensions["anjian"])
    return World(live_app, live_app.test_client(), live_session)


def _approve(world: World) -> tuple[Submitted, int]:
    submitted = world.submit()
    reply = world.review(submitted.id, submitted.approval())
    assert reply.status_code == 200, reply.json
    world.session.commit()
    return submitted, int(reply.json["ledger_job"])


def test_without_redis_the_app_makes_the_entries_itself(
    live_app: Flask, live_session: Session
) -> None:
    """The embedded default: no REDIS_URL, a thread in the API process runs the job after the
    approval commits."""
    runtime.bind(live_app.extensions["anjian"])
    world = World(live_app, live_app.test_client(), live_session)
    submitted = world.submit()
    assert world.review(submitted.id, submitted.approval()).status_code == 200
    live_app.extensions["anjian"].dispatcher.join()
    assert len(_entries(live_session, submitted.id)) == 2


def test_two_workers_racing_on_one_row_make_one_entry_per_finding(live_world: World) -> None:
    submitted, item_id = _approve(live_world)
    results = _in_threads(lambda: outbox_jobs.run(item_id), 2)
    assert "done" in results
    assert len(_entries(live_world.session, submitted.id)) == 2


def test_two_handlers_racing_past_the_row_lock_still_make_one_entry_each(
    live_world: World,
) -> None:
    """Without the outbox lock (as if Redis delivered twice and the lock did not hold), the
    unique finding_id is what keeps it to one entry per finding."""
    submitted, _item_id = _approve(live_world)
    svc: Services = live_world.app.extensions["anjian"]

    def handler() -> int:
        with svc.db.session() as session:
            return len(entries.create_for_inspection(session, submitted.id))

    assert sorted(_in_threads(handler, 2)) == [0, 2]
    assert len(_entries(live_world.session, submitted.id)) == 2


def _in_threads(work: Any, count: int) -> list[Any]:
    results: list[Any] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except Exception as exc:  # SQLite: a writer that waited too long; rq would retry
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    return results


# --- real workers, real Redis, real PostgreSQL ---------------------------------------------------


@pytest.fixture
def ledger_redis(redis_url: str) -> Iterator[str]:
    url = redis_url.rsplit("/", 1)[0] + f"/{LEDGER_REDIS_DB}"
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


class Workers:
    """`anjian worker` processes on the live database; every one is killed at the end."""

    def __init__(self, engine: Engine, data_dir: Path, redis_url: str) -> None:
        self.engine, self.data_dir, self.redis_url = engine, data_dir, redis_url
        self.pidfile = data_dir / "in-handler.pid"
        self.release = data_dir / "release-the-hold"
        self.processes: list[subprocess.Popen[bytes]] = []

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
        url = self.engine.url
        if url.get_backend_name() == "postgresql":
            url = url.update_query_dict({"application_name": WORKER_APP})
        env.update(
            ANJIAN_ENV="test",
            ANJIAN_DATA_DIR=str(self.data_dir),
            DATABASE_URL=url.render_as_string(hide_password=False),
            REDIS_URL=self.redis_url,
            SECRET_KEY="w" * 40,
            LOG_LEVEL="WARNING",
            LEDGER_TEST_PIDFILE=str(self.pidfile),
            HOLD_PIDFILE=str(self.pidfile),
            HOLD_RELEASE=str(self.release),
            **extra,
        )
        return env

    def start(
        self, *args: str, slow: float | None = None, hold: bool = False, **env: str
    ) -> subprocess.Popen[bytes]:
        """An `anjian worker`; `slow`: its ledger job stops that long before it commits;
        `hold`: its ledger job holds in its I/O phase until `let_go()`."""
        if hold:
            command = [sys.executable, str(HOLDING_WORKER), "worker", *args]
        elif slow is None:
            command = [str(anjian_command()), "worker", *args]
        else:
            command = [sys.executable, str(SLOW_WORKER), "worker", *args]
            env["LEDGER_TEST_PAUSE"] = str(slow)
        with (self.data_dir / f"worker-{len(self.processes)}.log").open("wb") as log:
            # A group of its own: rq forks a scheduler process, which outlives a worker killed
            # with SIGKILL; stop() and kill() take the whole group.
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment(**env),
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def let_go(self) -> None:
        self.release.touch()

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.data_dir.glob("worker-*.log"))

    def inside(self, count: int) -> list[int]:
        """Wait until `count` jobs are inside the slowed or held handler; their pids."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.pidfile.exists():
                pids = [int(p) for p in self.pidfile.read_text().split()]
                if len(pids) >= count:
                    return pids
            time.sleep(0.05)
        raise AssertionError(f"no job reached the handler:\n{self.logs()}")

    def wait(self, process: subprocess.Popen[bytes]) -> None:
        assert process.wait(timeout=WAIT) == 0, self.logs()

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=WAIT)


@pytest.fixture
def workers(live_engine: Engine, tmp_path: Path, ledger_redis: str) -> Iterator[Workers]:
    pool = Workers(live_engine, tmp_path, ledger_redis)
    yield pool
    pool.stop()


def _rq_dispatcher(world: World, redis_url: str) -> Services:
    svc: Services = world.app.extensions["anjian"]
    return Services(**{**svc.__dict__, "dispatcher": RqDispatcher(redis_url)})


def _outbox_row(session: Session, item_id: int) -> OutboxItem:
    session.expire_all()
    row = session.get(OutboxItem, item_id)
    assert row is not None
    return row


def _wait_for_entries(
    session: Session, inspection_id: Any, worker: subprocess.Popen[bytes], workers: Workers
) -> list[Hazard]:
    deadline = time.monotonic() + WAIT
    while len(made := _entries(session, inspection_id)) < 2:
        session.rollback()
        assert worker.poll() is None, workers.logs()
        assert time.monotonic() < deadline, workers.logs()
        time.sleep(0.2)
    assert len(made) == 2
    return made


POSTGRES_ONLY = pytest.mark.parametrize("live_engine", ["postgres"], indirect=True)


@pytest.mark.postgres
@pytest.mark.redis
@POSTGRES_ONLY
def test_two_rq_workers_given_the_same_row_make_one_entry_per_finding(
    live_world: World, workers: Workers
) -> None:
    """Redis delivers the same outbox row twice (two job ids), and two `anjian worker`
    processes take one each at the same moment: one does the work, the other skips it."""
    submitted, item_id = _approve(live_world)
    queue = Queue(QUEUE, connection=Redis.from_url(workers.redis_url), serializer=JSONSerializer)
    for job_id in (outbox_jobs.job_id(item_id), f"{outbox_jobs.job_id(item_id)}-again"):
        queue.enqueue("backend.jobs.outbox.run", item_id, job_id=job_id)
    racing = [workers.start("--burst", slow=1.0) for _ in range(2)]
    for process in racing:
        workers.wait(process)
    assert len(_entries(live_world.session, submitted.id)) == 2
    assert _outbox_row(live_world.session, item_id).status == "done"
    assert len(workers.inside(1)) == 1  # only one worker ever got into the handler


def _database_now(session: Session) -> datetime:
    session.rollback()
    now = session.scalar(select(func.now()))
    session.rollback()
    assert now is not None
    return now


def _worker_connections(session: Session) -> list[tuple[str, Any]]:
    """(state, backend_xid) of every connection the workers hold on this database."""
    session.rollback()
    rows = session.execute(
        text(
            "SELECT state, backend_xid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :app"
        ),
        {"app": WORKER_APP},
    ).all()
    session.rollback()
    return [(row.state, row.backend_xid) for row in rows]


@pytest.mark.postgres
@pytest.mark.redis
@POSTGRES_ONLY
def test_a_job_in_its_io_phase_leaves_the_workers_connections_idle(
    live_world: World, workers: Workers
) -> None:
    """The acceptance case: a ledger job held in its I/O phase (until the test lets it go; 30 s
    at most) by a real `anjian worker`. Meanwhile PostgreSQL shows every connection of the
    worker `idle`, none `idle in transaction`, and none with a transaction id."""
    submitted, item_id = _approve(live_world)
    outbox_jobs.enqueue(_rq_dispatcher(live_world, workers.redis_url), [item_id])
    worker = workers.start(hold=True)
    workers.inside(1)
    try:
        connections = _worker_connections(live_world.session)
        assert connections, "the worker has no connection to this database"
        assert connections == [("idle", None)] * len(connections), connections
        row = _outbox_row(live_world.session, item_id)
        assert (row.status, row.claims) == ("pending", 1)
        assert row.claimed_by is not None
        assert _entries(live_world.session, submitted.id) == []
    finally:
        workers.let_go()
    _wait_for_entries(live_world.session, submitted.id, worker, workers)
    assert _outbox_row(live_world.session, item_id).status == "done"


@pytest.mark.postgres
@pytest.mark.redis
@POSTGRES_ONLY
def test_a_worker_killed_in_the_io_phase_loses_its_claim_when_the_lease_runs_out(
    live_world: World, workers: Workers
) -> None:
    """The acceptance case: SIGKILL to a real `anjian worker` (its whole process group) while
    its ledger job is in its I/O phase, the row claimed with a 2 s lease. The row stays claimed
    until the lease runs out; then a fresh worker's sweeper re-delivers it (a job id of its
    own: the dead one's may still look started to rq), the row is taken back, and the entries
    are made once."""
    submitted, item_id = _approve(live_world)
    outbox_jobs.enqueue(_rq_dispatcher(live_world, workers.redis_url), [item_id])
    doomed = workers.start(hold=True, ANJIAN_JOB_LEASE="2")
    workers.inside(1)
    workers.kill(doomed)
    row = _outbox_row(live_world.session, item_id)
    assert (row.status, row.claims) == ("pending", 1)
    assert row.claimed_by is not None
    assert row.lease_until is not None
    assert _entries(live_world.session, submitted.id) == []

    deadline = time.monotonic() + WAIT
    while _database_now(live_world.session) <= row.lease_until:
        assert time.monotonic() < deadline, "the lease never ran out"
        time.sleep(0.1)
    fresh = workers.start()
    made = _wait_for_entries(live_world.session, submitted.id, fresh, workers)
    assert {h.finding_id for h in made} == {submitted.major_finding, submitted.general_finding}
    row = _outbox_row(live_world.session, item_id)
    assert (row.status, row.claims, row.claimed_by) == ("done", 2, None)
    live_world.session.rollback()
    assert live_world.session.scalar(select(func.count()).select_from(Hazard)) == 2


@pytest.mark.postgres
@pytest.mark.redis
@POSTGRES_ONLY
def test_with_redis_down_the_approval_succeeds_and_the_entries_follow_by_themselves(
    live_engine: Engine, live_session: Session, tmp_path: Path, workers: Workers
) -> None:
    """The shared Redis cannot be stopped, so the API is pointed at a port where nothing
    listens (Redis "down") for the approval; then an ordinary `anjian worker` is started with
    the real Redis ("Redis is back"). Nobody enqueues anything by hand: the worker's sweeper
    finds the outbox row the approval left and the entries appear."""
    url = live_engine.url.render_as_string(hide_password=False)
    app = create_app(make_config(tmp_path / "api", url, REDIS_URL="redis://127.0.0.1:9/0"))
    app.config["TESTING"] = True
    try:
        world = World(app, app.test_client(), live_session)
        submitted = world.submit()
        started = time.monotonic()
        reply = world.review(submitted.id, submitted.approval())
        assert reply.status_code == 200, reply.json
        assert time.monotonic() - started < 10
        row = _outbox_row(live_session, int(reply.json["ledger_job"]))
        assert (row.status, row.enqueued_at) == ("pending", None)
        live_session.rollback()

        _wait_for_entries(live_session, submitted.id, workers.start(), workers)
        assert _outbox_row(live_session, row.id).status == "done"
    finally:
        app.extensions["anjian"].db.dispose()


def test_the_sweeper_leaves_a_done_row_alone(live_world: World) -> None:
    submitted, item_id = _approve(live_world)
    assert outbox_jobs.run(item_id) == "done"
    svc: Services = live_world.app.extensions["anjian"]
    assert outbox_jobs.sweep(svc, now=utcnow()) == 0
    live_world.session.rollback()
    assert live_world.session.scalar(select(func.count()).select_from(Hazard)) == 2
    assert len(_entries(live_world.session, submitted.id)) == 2

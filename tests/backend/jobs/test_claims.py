"""A job claims its row with a lease, works with no transaction open, and records in another.

In this process, on real commits (SQLite file and PostgreSQL); `tests/backend/ledger/
test_worker.py` has the same behaviour through real `anjian worker` processes.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session

from backend.extensions import Services
from backend.jobs import outbox as jobs
from backend.jobs import runtime
from backend.jobs.handler import Handler, Job, worker_name
from backend.models import AuditEntry, OutboxItem, utcnow
from backend.services import audit, outbox
from tests.backend.ledger.support import RecordingDispatcher, World

KIND = "test.claims"
WAIT = 30.0  # the most any wait here lasts; a wait that runs out fails the test


def _audit(session: Session, job: Job, result: Any) -> None:
    if job.payload.get("fail"):
        raise RuntimeError("this row is bad")
    audit.record(
        session,
        actor=None,
        action="test.claims",
        entity_type="test",
        entity_id=job.payload["name"],
        data={"result": result},
    )


class Hold:
    """An I/O phase the test controls: the job says it is in, and waits to be let go."""

    def __init__(self) -> None:
        self.inside, self.release = threading.Event(), threading.Event()
        self.during: Any = None  # called inside the hold, with the job

    def __call__(self, job: Job) -> str:
        self.inside.set()
        if self.during is not None:
            self.during(job)
        assert self.release.wait(WAIT), "the test never let the job go"
        return "performed"


@pytest.fixture
def svc(live_app: Flask) -> Services:
    services: Services = live_app.extensions["anjian"]
    services.dispatcher = RecordingDispatcher()
    runtime.bind(services)
    return services


def _handle(monkeypatch: pytest.MonkeyPatch, handler: Handler, kind: str = KIND) -> None:
    monkeypatch.setitem(jobs.HANDLERS, kind, handler)


def _add(svc: Services, name: str, kind: str = KIND, **payload: Any) -> int:
    with svc.db.session() as session:
        return outbox.add(session, kind, f"{kind}:{name}", {"name": name, **payload})  # type: ignore[arg-type]


def _row(svc: Services, item_id: int) -> OutboxItem:
    with svc.db.session() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None
        return row


def _effects(svc: Services, name: str) -> list[Any]:
    with svc.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.data).where(
                    AuditEntry.action == "test.claims", AuditEntry.entity_id == name
                )
            )
        )


def _in_thread(work: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(work())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def test_a_claimed_row_is_not_claimed_again_until_its_lease_runs_out(svc: Services) -> None:
    item_id = _add(svc, "leased")
    [job] = jobs.claim(svc, item_id)
    row = _row(svc, item_id)
    assert (row.claimed_by, row.claims) == (job.worker, 1)
    assert row.lease_until is not None
    assert row.claimed_at is not None
    assert row.lease_until - row.claimed_at == timedelta(seconds=svc.config.job_lease_seconds)
    assert jobs.claim(svc, item_id) == []
    later = row.lease_until + timedelta(seconds=1)
    [again] = jobs.claim(svc, item_id, now=later)
    assert again.claim == 2


def test_a_job_whose_lease_ran_out_records_nothing_and_the_next_one_does(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the first job works, its lease runs out and another job takes the row: the first
    one's result is dropped, the second one's recorded; one effect."""
    item_id = _add(svc, "overtaken")
    taken: list[Job] = []

    def overtaken(job: Job) -> str:
        lapsed = utcnow() + job.lease + timedelta(seconds=1)
        taken.extend(jobs.claim(svc, item_id, now=lapsed))
        return "late"

    _handle(monkeypatch, Handler(perform=overtaken, record=_audit))
    assert jobs.run(item_id) == "lost"
    assert _effects(svc, "overtaken") == []
    assert len(taken) == 1
    _handle(monkeypatch, Handler(perform=lambda job: "on time", record=_audit))
    assert jobs.run(item_id) == "skipped"  # the second claim holds it; its lease runs on
    with svc.db.session() as session:  # the second job's lease runs out too
        session.execute(update(OutboxItem).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert jobs.run(item_id) == "done"
    assert _effects(svc, "overtaken") == [{"result": "on time"}]
    assert _row(svc, item_id).claims == 3


def test_progress_is_stored_on_the_row_and_renews_the_lease(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = Hold()
    seen: list[tuple[int | None, int | None]] = []

    def report(job: Job) -> None:
        before = _row(svc, job.id).lease_until
        assert job.progress(3, 10)
        row = _row(svc, job.id)
        seen.append((row.progress_done, row.progress_total))
        assert before is not None
        assert row.lease_until is not None
        assert row.lease_until >= before

    hold.during = report
    _handle(monkeypatch, Handler(perform=hold, record=_audit))
    item_id = _add(svc, "progress")
    thread, out = _in_thread(lambda: jobs.run(item_id))
    assert hold.inside.wait(WAIT)
    hold.release.set()
    thread.join(WAIT)
    assert out == ["done"]
    assert seen == [(3, 10)]


def test_a_job_that_lost_its_claim_is_told_so_by_progress(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[bool] = []

    def overtaken(job: Job) -> None:
        jobs.claim(svc, job.id, now=utcnow() + job.lease + timedelta(seconds=1))
        answers.append(job.progress(1, 2))

    _handle(monkeypatch, Handler(perform=overtaken, record=_audit))
    assert jobs.run(_add(svc, "told")) == "lost"
    assert answers == [False]


def test_the_io_phase_holds_no_transaction_open(
    svc: Services, live_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the handler is in its I/O phase, another writer commits at once (on SQLite the
    only write lock is free; the busy timeout is 50 ms, so waiting for it would fail)."""
    hold = Hold()
    _handle(monkeypatch, Handler(perform=hold, record=_audit))
    item_id = _add(svc, "held")
    thread, out = _in_thread(lambda: jobs.run(item_id))
    assert hold.inside.wait(WAIT)
    try:
        with _short_busy_timeout(svc.db.engine), svc.db.session() as session:
            audit.record(session, actor=None, action="test.other", entity_type="t", entity_id=1)
        row = _row(svc, item_id)
        assert (row.status, row.claimed_by) == ("pending", worker_name())
    finally:
        hold.release.set()
        thread.join(WAIT)
    assert out == ["done"]
    assert _effects(svc, "held") == [{"result": "performed"}]


class _short_busy_timeout:  # a context manager, named as one reads it
    """SQLite connections checked out meanwhile give up after 50 ms instead of 30 s."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _set(self, dbapi: Any, _record: Any, _proxy: Any) -> None:
        dbapi.execute("PRAGMA busy_timeout=50")

    def __enter__(self) -> None:
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "checkout", self._set)

    def __exit__(self, *_exc: object) -> None:
        if self.engine.dialect.name == "sqlite":
            event.remove(self.engine, "checkout", self._set)
            self.engine.dispose()  # no connection keeps the short timeout


def test_a_batching_kind_takes_several_rows_in_one_job(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _handle(monkeypatch, Handler(record=_audit, batch=10))
    ids = [_add(svc, f"batch-{n}") for n in range(3)]
    dispatcher: RecordingDispatcher = svc.dispatcher  # type: ignore[assignment]
    assert [job_id for _f, _a, job_id in dispatcher.jobs] == [jobs.job_id(i) for i in ids]
    assert jobs.run(ids[0]) == "done"
    assert [job_id for _f, _a, job_id in dispatcher.jobs] == [jobs.job_id(ids[0])]  # withdrawn
    assert [jobs.run(item_id) for item_id in ids[1:]] == ["skipped", "skipped"]
    assert {_row(svc, item_id).status for item_id in ids} == {"done"}
    assert all(len(_effects(svc, f"batch-{n}")) == 1 for n in range(3))


def test_one_bad_row_in_a_batch_fails_alone(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    _handle(monkeypatch, Handler(record=_audit, batch=10))
    good, bad, other = _add(svc, "good"), _add(svc, "bad", fail=True), _add(svc, "other")
    assert jobs.run(good) == "done"
    assert [_row(svc, i).status for i in (good, bad, other)] == ["done", "pending", "done"]
    failed = _row(svc, bad)
    assert (failed.attempts, failed.claimed_by, failed.lease_until) == (1, None, None)
    assert "this row is bad" in (failed.last_error or "")


def test_a_failure_in_the_io_phase_releases_the_claim_for_a_retry(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def store_down(job: Job) -> None:
        raise ConnectionError("the object store is down")

    _handle(monkeypatch, Handler(perform=store_down, record=_audit))
    item_id = _add(svc, "io-fails")
    with pytest.raises(ConnectionError):
        jobs.run(item_id)
    row = _row(svc, item_id)
    assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, None)
    _handle(monkeypatch, Handler(perform=lambda job: "fine now", record=_audit))
    assert jobs.run(item_id) == "done"  # rq's retry, later


def test_the_sweeper_redelivers_a_row_whose_lease_lapsed_under_a_new_job_id(
    svc: Services,
) -> None:
    item_id = _add(svc, "dead-worker")
    dispatcher: RecordingDispatcher = svc.dispatcher  # type: ignore[assignment]
    assert [job_id for _f, _a, job_id in dispatcher.jobs] == [jobs.job_id(item_id)]
    dispatcher.jobs.clear()
    [job] = jobs.claim(svc, item_id)  # ... and its worker is killed
    assert jobs.sweep(svc) == 0  # the lease runs on
    assert job.lease is not None
    lapsed = utcnow() + job.lease + timedelta(seconds=1)
    assert jobs.sweep(svc, now=lapsed) == 1
    assert [job_id for _f, _a, job_id in dispatcher.jobs] == [f"outbox-{item_id}-1"]


def test_rows_a_session_creates_are_delivered_once_it_commits_and_never_if_it_rolls_back(
    svc: Services,
) -> None:
    dispatcher: RecordingDispatcher = svc.dispatcher  # type: ignore[assignment]
    with svc.db.session() as session:
        kept = outbox.add(session, KIND, "kept", {"name": "kept"})  # type: ignore[arg-type]
        session.flush()
        assert dispatcher.jobs == []  # not before the commit
    assert [args for _f, args, _id in dispatcher.jobs] == [(kept,)]
    dispatcher.jobs.clear()

    def failing_request() -> None:
        with svc.db.session() as session:
            outbox.add(session, KIND, "gone", {"name": "gone"})  # type: ignore[arg-type]
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    with svc.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1
    assert dispatcher.jobs == []


def test_a_tablet_push_during_a_jobs_io_phase_completes_at_once(
    live_app: Flask, live_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acceptance case on the embedded default: a ledger job whose I/O phase takes long
    (held here until the push is done; at most 30 s), and a tablet pushing meanwhile. The push
    is applied without waiting for the write lock (SQLite busy timeout 50 ms in this test)."""
    svc: Services = live_app.extensions["anjian"]
    svc.dispatcher = RecordingDispatcher()
    runtime.bind(svc)
    world = World(live_app, live_app.test_client(), live_session)
    submitted = world.submit()
    reply = world.review(submitted.id, submitted.approval())
    assert reply.status_code == 200, reply.json
    live_session.commit()
    hold = Hold()
    ledger = jobs.HANDLERS[outbox.JobKind.ledger_entries]
    _handle(monkeypatch, Handler(perform=hold, record=ledger.record), outbox.JobKind.ledger_entries)
    thread, out = _in_thread(lambda: jobs.run(int(reply.json["ledger_job"])))
    assert hold.inside.wait(WAIT)
    try:
        with _short_busy_timeout(svc.db.engine):
            pushed = world.submit()  # save + submit through POST /api/v1/sync/push
        assert pushed.id != submitted.id
    finally:
        hold.release.set()
        thread.join(WAIT)
    assert out == ["done"]
    assert len(world.hazards(submitted.id)) == 2

"""Outbox rows run exactly once: racing workers, failures and lost deliveries included."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.extensions import Services
from backend.jobs import outbox as jobs
from backend.jobs import runtime
from backend.jobs.handler import Handler, Job
from backend.jobs.runtime import RqDispatcher
from backend.models import AuditEntry, OutboxItem, Role
from backend.services import audit, operations, outbox
from media.store import StoreUnavailable
from tests.backend.ledger.support import RecordingDispatcher
from tests.factories import make_unit, make_user

TEST_KIND = "test.audit"


def _write_audit(session: Session, job: Job, _result: Any) -> None:
    if job.payload.get("fail"):
        raise RuntimeError("the store is down")
    if job.payload.get("slow"):
        threading.Event().wait(0.3)
    name = job.payload["name"]
    audit.record(session, actor=None, action="test.outbox", entity_type="test", entity_id=name)


@pytest.fixture
def svc(live_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The live app, with jobs the test runs itself and a kind of work of the test's own."""
    services: Services = live_app.extensions["anjian"]
    services.dispatcher = RecordingDispatcher()
    runtime.bind(services)
    monkeypatch.setitem(jobs.HANDLERS, TEST_KIND, Handler(record=_write_audit))
    return services


def _add(svc: Services, name: str, **payload: Any) -> int:
    with svc.db.session() as session:
        return outbox.add(session, TEST_KIND, f"test:{name}", {"name": name, **payload})  # type: ignore[arg-type]


def _effects(svc: Services, name: str) -> int:
    with svc.db.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "test.outbox", AuditEntry.entity_id == name)
            )
            or 0
        )


def _row(svc: Services, item_id: int) -> OutboxItem:
    with svc.db.session() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None
        return row


def test_the_same_work_asked_twice_is_one_row(svc: Services) -> None:
    assert _add(svc, "once") == _add(svc, "once")


def test_a_row_runs_once_even_when_delivered_twice(svc: Services) -> None:
    item_id = _add(svc, "twice")
    assert jobs.run(item_id) == "done"
    assert jobs.run(item_id) == "skipped"
    assert _effects(svc, "twice") == 1
    assert _row(svc, item_id).status == "done"


def test_two_workers_racing_on_one_row_do_the_work_once(svc: Services) -> None:
    item_id = _add(svc, "race", slow=True)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(_run_quietly(item_id))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert _effects(svc, "race") == 1
    assert sorted(results)[0] == "done"


def _run_quietly(item_id: int) -> str:
    try:
        return jobs.run(item_id)
    except Exception as exc:  # SQLite: the second writer may time out waiting; it retries
        return f"error: {exc}"


def test_a_failure_is_recorded_and_retried_later(svc: Services) -> None:
    item_id = _add(svc, "flaky", fail=True)
    with pytest.raises(RuntimeError):
        jobs.run(item_id)
    row = _row(svc, item_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "the store is down" in (row.last_error or "")
    assert _effects(svc, "flaky") == 0


def test_a_row_that_keeps_failing_is_listed_and_can_be_retried(svc: Services) -> None:
    item_id = _add(svc, "broken", fail=True)
    dispatcher: RecordingDispatcher = svc.dispatcher  # type: ignore[assignment]
    dispatcher.jobs.clear()  # its first delivery, at the commit
    for _ in range(jobs.MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            jobs.run(item_id)
    with svc.db.session() as session:
        assert [r.id for r in operations.failed_jobs(session)] == [item_id]
    assert jobs.run(item_id) == "skipped"  # failed rows wait for a person
    with svc.db.session() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None
        row.payload = {"name": "broken"}  # the cause was fixed
        actor = make_user(session, make_unit(session), Role.admin)
        assert operations.retry_job(session, actor, item_id)
    assert [args for _func, args, _id in dispatcher.jobs] == [(item_id,)]  # at the commit
    assert dispatcher.run_all() == ["done"]
    assert _row(svc, item_id).status == "done"


def test_an_unavailable_store_defers_the_job_to_the_sweeper_without_using_an_attempt(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 30-s store outage once cost a photo's derivatives a minute or more after the store came
    back (rq's backoff), and a long one left the row failed (tests/faults)."""
    store_up = False

    def perform(job: Job) -> Any:
        if not store_up:
            raise StoreUnavailable("connection refused")
        return None

    monkeypatch.setitem(jobs.HANDLERS, TEST_KIND, Handler(perform=perform, record=_write_audit))
    item_id = _add(svc, "outage")
    svc.dispatcher.jobs.clear()  # type: ignore[attr-defined]
    for _ in range(jobs.MAX_ATTEMPTS + 1):  # longer than any retry schedule
        assert jobs.run(item_id) == "deferred"
        row = _row(svc, item_id)
        assert (row.status, row.attempts, row.claimed_by, row.enqueued_at) == (
            "pending",
            0,
            None,
            None,
        )
        assert "store is unavailable" in (row.last_error or "")
        assert jobs.sweep(svc) == 1  # the next pass delivers it again
        svc.dispatcher.jobs.clear()  # type: ignore[attr-defined]
    store_up = True
    assert jobs.sweep(svc) == 0  # delivered by the last pass, not yet due again
    assert jobs.run(item_id) == "done"
    assert _row(svc, item_id).status == "done"
    assert _effects(svc, "outage") == 1


def test_the_sweeper_delivers_what_was_never_enqueued(svc: Services) -> None:
    item_id = _add(svc, "lost")
    svc.dispatcher.jobs.clear()  # type: ignore[attr-defined]  # as if the process died
    with svc.db.session() as session:
        session.execute(update(OutboxItem).values(enqueued_at=None))
    assert jobs.sweep(svc) == 1
    assert svc.dispatcher.run_all() == ["done"]  # type: ignore[attr-defined]
    assert _row(svc, item_id).status == "done"
    assert jobs.sweep(svc) == 0


def test_a_real_rq_worker_runs_outbox_rows(
    svc: Services, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Redis.from_url(redis_url).flushdb()
    item_id = _add(svc, "via-redis")
    jobs.enqueue(Services(**{**svc.__dict__, "dispatcher": RqDispatcher(redis_url)}), [item_id])
    url = svc.db.engine.url.render_as_string(hide_password=False)
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "t" * 40,
        "ANJIAN_DATA_DIR": str(svc.config.data_dir),
    }
    result = CliRunner().invoke(_main(), ["worker", "--burst"], env=env)
    assert result.exit_code == 0, result.output
    assert _row(svc, item_id).status == "done"
    assert _effects(svc, "via-redis") == 1


def _main() -> Any:
    from backend.cli import main

    return main


def test_the_cli_lists_failed_rows_and_its_retry_is_audited_like_the_apis(
    svc: Services, live_app: Flask
) -> None:
    item_id = _add(svc, "cli-retry")
    dispatcher: RecordingDispatcher = svc.dispatcher  # type: ignore[assignment]
    dispatcher.jobs.clear()
    with svc.db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status="failed", attempts=jobs.MAX_ATTEMPTS, last_error="RuntimeError: down")
        )
        operator = make_user(session, make_unit(session), Role.admin)
        username = operator.username
    on_this_app = ScriptInfo(create_app=lambda: live_app)  # the CLI over the test's app
    listed = CliRunner().invoke(_main(), ["jobs", "failed"], obj=on_this_app)
    assert listed.exit_code == 0, listed.output
    assert (
        f"{item_id}\t{TEST_KIND}\ttest:cli-retry\tattempts=8\tRuntimeError: down" in listed.output
    )
    retried = CliRunner().invoke(
        _main(), ["jobs", "retry", str(item_id), "--as-user", username], obj=on_this_app
    )
    assert retried.exit_code == 0, retried.output
    with svc.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.retry")).one()
        assert (entry.actor_id, entry.entity_type, entry.entity_id) == (
            operator.id,
            "outbox",
            str(item_id),
        )
        row = session.get(OutboxItem, item_id)
        assert row is not None
        assert (row.status, row.attempts) == ("pending", 0)
    assert dispatcher.run_all() == ["done"]  # delivered at the CLI's commit
    again = CliRunner().invoke(
        _main(), ["jobs", "retry", str(item_id), "--as-user", username], obj=on_this_app
    )
    assert again.exit_code != 0
    assert "is not a failed row" in again.output


@pytest.mark.parametrize(
    "kind", [outbox.JobKind.ledger_entries, outbox.JobKind.media_arrived], ids=str
)
def test_jobs_people_wait_for_go_before_a_backlog_of_photo_derivatives(
    svc: Services, redis_url: str, kind: outbox.JobKind
) -> None:
    """A supervisor waits for the entries an approval makes; photos' derivatives can wait: with
    one queue in order of arrival, the fleet's approval-to-ledger p95 was 37 s (bench/fleet.py)."""
    svc.dispatcher = RqDispatcher(redis_url)
    queue = Queue(runtime.QUEUE, connection=Redis.from_url(redis_url), serializer=JSONSerializer)
    queue.empty()
    with svc.db.session() as session:
        photos = [
            outbox.add(session, outbox.JobKind.media_derivatives, f"test:photo:{n}", {})
            for n in range(3)
        ]
    with svc.db.session() as session:
        ledger = outbox.add(session, kind, "test:ledger", {})
    assert queue.job_ids == [jobs.job_id(ledger)] + [jobs.job_id(n) for n in photos]
    with svc.db.session() as session:  # and so does the sweeper's re-delivery
        session.execute(update(OutboxItem).values(enqueued_at=None))
    queue.empty()
    assert jobs.sweep(svc) == 4
    assert queue.job_ids[0] == jobs.job_id(ledger)
    queue.empty()

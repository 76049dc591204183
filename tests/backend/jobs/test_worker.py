"""Jobs reach a real rq worker through Redis, and run in-process without it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from redis import Redis
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.cli import main
from backend.jobs.runtime import InProcessDispatcher, RqDispatcher
from backend.models import AccessToken, User, utcnow


def _add_tokens(data_dir: Path) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_engine(f"sqlite:///{data_dir / 'anjian.sqlite3'}")
    with Session(engine) as session:
        user = session.scalars(select(User)).first()
        assert user is not None
        old = AccessToken(
            token_hash=uuid.uuid4().hex, user_id=user.id, expires_at=utcnow() - timedelta(days=40)
        )
        fresh = AccessToken(
            token_hash=uuid.uuid4().hex, user_id=user.id, expires_at=utcnow() + timedelta(days=1)
        )
        session.add_all([old, fresh])
        session.commit()
        ids = old.id, fresh.id
    engine.dispose()
    return ids


def _remaining(data_dir: Path) -> set[uuid.UUID]:
    engine = create_engine(f"sqlite:///{data_dir / 'anjian.sqlite3'}")
    with Session(engine) as session:
        ids = set(session.scalars(select(AccessToken.id)))
    engine.dispose()
    return ids


def test_an_rq_worker_runs_a_job_enqueued_through_redis(tmp_path: Path, redis_url: str) -> None:
    Redis.from_url(redis_url).flushdb()
    env = {"ANJIAN_DATA_DIR": str(tmp_path), "REDIS_URL": redis_url}
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    old, fresh = _add_tokens(tmp_path)
    RqDispatcher(redis_url).enqueue(
        "backend.jobs.maintenance.purge_expired_tokens", job_id="purge-tokens"
    )
    result = runner.invoke(main, ["worker", "--burst"], env=env)
    assert result.exit_code == 0, result.output
    remaining = _remaining(tmp_path)
    assert old not in remaining
    assert fresh in remaining


def test_the_same_job_id_is_queued_once(redis_url: str) -> None:
    Redis.from_url(redis_url).flushdb()
    dispatcher = RqDispatcher(redis_url)
    for _ in range(3):
        dispatcher.enqueue("backend.jobs.maintenance.purge_expired_tokens", job_id="same")
    assert dispatcher.queue.count == 1


def test_in_process_jobs_run_without_redis(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"ANJIAN_DATA_DIR": str(tmp_path)}
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    old, fresh = _add_tokens(tmp_path)
    from backend.app import create_app
    from backend.config import Config
    from backend.jobs import runtime

    app = create_app(Config.from_env(env))
    runtime.bind(app.extensions["anjian"])
    dispatcher = InProcessDispatcher()
    dispatcher.enqueue("backend.jobs.maintenance.purge_expired_tokens", job_id="purge")
    dispatcher.join()
    remaining = _remaining(tmp_path)
    assert old not in remaining
    assert fresh in remaining


def test_withdrawing_drops_waiting_jobs_and_leaves_unknown_ones(redis_url: str) -> None:
    Redis.from_url(redis_url).flushdb()
    dispatcher = RqDispatcher(redis_url)
    for name in ("kept", "dropped"):
        dispatcher.enqueue("backend.jobs.maintenance.purge_expired_tokens", job_id=name)
    dispatcher.withdraw(["dropped", "never-queued"])
    assert dispatcher.queue.job_ids == ["kept"]
    dispatcher.enqueue("backend.jobs.maintenance.purge_expired_tokens", job_id="dropped")
    assert dispatcher.queue.job_ids == ["kept", "dropped"]  # asked for again: queued again

"""Housekeeping forgets old failed sign-ins and dead tokens, and nothing that still matters."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.jobs import maintenance
from backend.models import AccessToken, utcnow
from backend.models.organisation import LoginFailure
from tests.factories import make_unit, make_user

NOW = utcnow()


def failure(session: Session, name: str, *, ago: timedelta, locked_for: timedelta | None) -> None:
    session.add(
        LoginFailure(
            username=name,
            failures=7,
            last_failure_at=NOW - ago,
            locked_until=None if locked_for is None else NOW + locked_for,
        )
    )


def test_old_failures_are_forgotten_but_not_recent_ones_or_running_lock_outs(
    session: Session,
) -> None:
    failure(session, "old", ago=timedelta(days=2), locked_for=None)
    failure(session, "old-lock-over", ago=timedelta(days=2), locked_for=timedelta(hours=-1))
    failure(session, "recent", ago=timedelta(hours=3), locked_for=None)
    failure(session, "still-locked", ago=timedelta(days=2), locked_for=timedelta(minutes=5))
    session.flush()

    assert maintenance.prune_login_failures(session, NOW) == 2
    assert sorted(session.scalars(select(LoginFailure.username))) == ["recent", "still-locked"]


def test_housekeeping_runs_once_per_interval_and_purges_dead_tokens(
    live_app: Flask, live_session: Session
) -> None:
    svc = live_app.extensions["anjian"]
    user = make_user(live_session, make_unit(live_session))
    for expired_days_ago in (31, 1):
        live_session.add(
            AccessToken(
                token_hash=uuid.uuid4().hex,
                user_id=user.id,
                expires_at=NOW - timedelta(days=expired_days_ago),
            )
        )
    failure(live_session, "old", ago=timedelta(days=3), locked_for=None)
    live_session.commit()

    maintenance._last_run = 0.0
    first = maintenance.run_if_due(svc)
    assert first == maintenance.Report(tokens=1, login_failures=1)
    assert maintenance.run_if_due(svc) is None  # not due again yet
    live_session.expire_all()
    assert len(live_session.scalars(select(AccessToken.id)).all()) == 1

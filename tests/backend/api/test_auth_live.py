"""Lock-out on databases where commits are real: failures survive the failed request, and
parallel guesses queue up instead of each seeing the count before the others."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AuditEntry
from backend.models.organisation import LoginFailure
from tests.factories import PASSWORD, auth_headers, make_unit, make_user

GUESSES = 20


def in_parallel(app: Flask, count: int, request: Callable[..., int]) -> list[int]:
    """Run `request(client, i)` in `count` threads, each with its own test client, all
    released at once; return the status codes."""
    barrier = threading.Barrier(count)
    codes: list[int] = []

    def run(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        codes.append(request(client, i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


def failures(session: Session, username: str) -> LoginFailure:
    session.expire_all()
    row = session.get(LoginFailure, username)
    assert row is not None
    session.commit()  # never hold a transaction open while the app works (SQLite's lock)
    return row


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_parallel_wrong_passwords_end_locked(
    live_app: Flask, live_session: Session, known: bool
) -> None:
    username = "guessed"
    if known:
        make_user(live_session, make_unit(live_session), username=username)
        live_session.commit()
    max_failures = live_app.extensions["anjian"].login_policy.max_failures

    def guess(client: object, i: int) -> int:
        reply = client.post(  # type: ignore[attr-defined]
            "/api/v1/auth/token", json={"username": username, "password": f"guess-{i}"}
        )
        return int(reply.status_code)

    codes = in_parallel(live_app, GUESSES, guess)
    # Only max_failures passwords were ever checked; the rest met the lock.
    assert codes == [401] * max_failures + [429] * (GUESSES - max_failures)
    row = failures(live_session, username)
    assert row.failures == max_failures
    assert row.locked_until is not None
    client = live_app.test_client()
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 429


def test_a_failed_sign_in_is_committed(live_app: Flask, live_session: Session) -> None:
    user = make_user(live_session, make_unit(live_session))
    live_session.commit()
    reply = live_app.test_client().post(
        "/api/v1/auth/token", json={"username": user.username, "password": "wrong"}
    )
    assert reply.status_code == 401
    assert failures(live_session, user.username).failures == 1
    audit = live_session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == user.username)
    )
    assert list(audit) == ["auth.failure"]
    live_session.commit()


def test_wrong_current_passwords_count_toward_the_lock(
    live_app: Flask, live_session: Session
) -> None:
    user = make_user(live_session, make_unit(live_session))
    live_session.commit()
    client = live_app.test_client()
    headers = auth_headers(client, user)

    def attempt() -> int:
        reply = client.post(
            "/api/v1/auth/password",
            json={"current_password": "guess", "new_password": "a brand new long password"},
            headers=headers,
        )
        return reply.status_code

    assert [attempt() for _ in range(6)] == [403] * 5 + [429]
    reply = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
    )
    assert reply.status_code == 429

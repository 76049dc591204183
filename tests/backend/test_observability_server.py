"""Metrics and logs in the production shape (issue 12, item 6): a real gunicorn with two workers
and a real `anjian worker`, sharing PROMETHEUS_MULTIPROC_DIR, on SQLite and PostgreSQL.

- a scrape's request counters equal the requests sent, which the workers' own log lines show
  were served by both workers (so the scrape sums over processes, not one worker's view);
- a job that fails in `anjian worker` is counted by kind, as often as its row says it failed,
  and logged with its kind, outbox id and outcome;
- every log line is a JSON object; each request's line carries the request id its reply
  carried; no password, token or secret appears anywhere in the log.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.jobs import outbox
from backend.jobs.runtime import RqDispatcher
from backend.models import OutboxItem, Role
from tests.factories import PASSWORD, make_unit, make_user
from tests.support.gunicorn import Gunicorn

METRICS_TOKEN = "m" * 40
SECRET_KEY = "s" * 48
ME = "/api/v1/auth/me"
MAX_ROUNDS = 100  # rounds of 4 concurrent requests, until both workers have served some
DEADLINE_SECONDS = 60


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Gunicorn) -> Samples:
    reply = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert reply.status == 200, reply.body
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def server(live_engine: Engine, redis_url: str, tmp_path: Path) -> Iterator[Gunicorn]:
    Redis.from_url(redis_url).flushdb()
    (tmp_path / "metrics").mkdir()
    env = {
        "ANJIAN_ENV": "test",
        "ANJIAN_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": live_engine.url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "ANJIAN_METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_LEVEL": "INFO",
    }
    with Gunicorn(env, tmp_path, workers=2) as running:
        yield running


def _sign_in(server: Gunicorn, live_engine: Engine) -> tuple[str, str]:
    with Session(live_engine) as session:
        user = make_user(session, make_unit(session), Role.inspector)
        session.commit()
        username, user_id = user.username, str(user.id)
    reply = server.request(
        "POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD}
    )
    assert reply.status == 200, reply.body
    return reply.json["access_token"], user_id


def test_a_scrape_sums_the_request_counters_of_every_gunicorn_worker(
    server: Gunicorn, live_engine: Engine
) -> None:
    token, user_id = _sign_in(server, live_engine)
    headers = {"Authorization": f"Bearer {token}"}
    sent, request_ids = 0, set()
    deadline = time.monotonic() + DEADLINE_SECONDS
    with ThreadPoolExecutor(4) as pool:
        for _round in range(MAX_ROUNDS):
            replies = list(pool.map(lambda _: server.request("GET", ME, headers=headers), range(4)))
            assert [r.status for r in replies] == [200] * 4
            sent += len(replies)
            request_ids |= {r.headers["X-Request-ID"] for r in replies}
            pids = {line["pid"] for line in server.log_lines() if line.get("route") == ME}
            if len(pids) >= 2 or time.monotonic() > deadline:
                break
    served = Counter(line["pid"] for line in server.log_lines() if line.get("route") == ME)
    assert len(served) == 2, f"one worker served all {sent} requests: {served}"
    samples = scrape(server)
    counted = value(samples, "anjian_http_requests_total", route=ME, method="GET", status="200")
    assert counted == sent == sum(served.values())
    assert value(samples, "anjian_http_request_duration_seconds_count", route=ME, method="GET") == (
        sent
    )
    lines = [line for line in server.log_lines() if line.get("route") == ME]
    assert {line["request_id"] for line in lines} == request_ids
    assert {line["user_id"] for line in lines} == {user_id}
    assert all(line["status"] == 200 and line["duration_ms"] >= 0 for line in lines)

    # A worker killed outright: gunicorn replaces it, and what it had counted stays counted.
    victim = next(iter(served))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline and victim in _worker_pids(server):
        time.sleep(0.2)
    assert victim not in _worker_pids(server)
    reply = server.request("GET", ME, headers=headers)
    assert reply.status == 200
    later = scrape(server)
    counted = value(later, "anjian_http_requests_total", route=ME, method="GET", status="200")
    assert counted == sent + 1


def _worker_pids(server: Gunicorn) -> set[int]:
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


def test_a_job_that_fails_in_an_anjian_worker_is_counted_and_logged_by_kind(
    server: Gunicorn, live_engine: Engine, redis_url: str
) -> None:
    kind = "media.arrived"
    with Session(live_engine) as session:
        row = OutboxItem(
            kind=kind, key="metrics:bad-unit", payload={"sha256": "0" * 64, "unit_id": "no unit"}
        )
        session.add(row)
        session.commit()
        item_id = row.id
    RqDispatcher(redis_url).enqueue(outbox.RUN, item_id, job_id=outbox.job_id(item_id))
    before = scrape(server)
    assert value(before, "anjian_outbox_rows", kind=kind, status="pending") == 1
    assert value(before, "anjian_rq_jobs", queue="anjian", state="queued") == 1
    worker_log = server.anjian_worker()
    with Session(live_engine) as session:
        attempts = session.scalar(select(OutboxItem.attempts).where(OutboxItem.id == item_id))
    assert attempts is not None
    assert attempts >= 1
    after = scrape(server)
    assert value(after, "anjian_jobs_total", kind=kind, outcome="failed") == attempts
    assert value(after, "anjian_rq_jobs", queue="anjian", state="queued") == (
        RqDispatcher(redis_url).queue.count
    )
    assert value(after, "anjian_scrape_source_up", source="redis") == 1
    assert value(after, "anjian_scrape_source_up", source="database") == 1
    job_lines = [
        json.loads(line)
        for line in worker_log.splitlines()
        if line.startswith("{") and '"outbox_id"' in line
    ]
    assert {(j["kind"], j["outbox_id"], j["outcome"]) for j in job_lines} == {
        (kind, item_id, "failed")
    }


def test_log_lines_are_json_with_the_reply_s_request_id_and_hold_no_secret(
    server: Gunicorn, live_engine: Engine
) -> None:
    token, _user_id = _sign_in(server, live_engine)
    chosen = server.request(
        "GET", ME, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "tablet-7.req:42"}
    )
    assert chosen.headers["X-Request-ID"] == "tablet-7.req:42"
    hostile = server.request("GET", ME, headers={"X-Request-ID": "x" * 200})
    assert hostile.status == 401
    assert hostile.headers["X-Request-ID"] != "x" * 200
    wrong = server.request("GET", "/metrics", headers={"Authorization": "Bearer " + "w" * 40})
    assert wrong.status == 401
    scrape(server)
    lines = server.log_lines()  # every line parses as a JSON object
    by_id = {
        line.get("request_id"): line for line in lines if line.get("logger") == "anjian.request"
    }
    assert by_id["tablet-7.req:42"]["route"] == ME
    assert by_id[hostile.headers["X-Request-ID"]]["status"] == 401
    assert {"timestamp", "level", "logger", "message", "pid"} <= set(lines[0])
    text = server.log_path.read_text()
    for secret in (PASSWORD, token, token[3:], METRICS_TOKEN, SECRET_KEY):
        assert secret not in text

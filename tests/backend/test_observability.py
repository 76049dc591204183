"""Metrics, request ids and request log lines, in-process (issue 12, item 6). The production
shape (gunicorn workers and `anjian worker` summed in one scrape) is in
test_observability_server.py.

Counters are process-wide, so each test compares a scrape before and after what it does.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.config import Config, ConfigError
from backend.jobs import outbox
from backend.models import OutboxItem, Role
from tests.backend.ledger.support import RecordingDispatcher
from tests.backend.media.support import camera_jpeg
from tests.conftest import make_config
from tests.factories import bearer_headers, make_enterprise, make_unit, make_user
from tests.support.server import free_port
from tests.sync_support import Tablet, save_args

TOKEN = "t0ken-for-the-scraper-" + "q" * 20
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: FlaskClient) -> Samples:
    reply = client.get("/metrics", headers=AUTH)
    assert reply.status_code == 200, reply.data
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.data.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """Jobs wait for the test (a thread of its own must not share the test's connection)."""
    flask_app = make_app(ANJIAN_METRICS_TOKEN=TOKEN)
    flask_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    return flask_app


def test_metrics_is_not_served_without_a_configured_token(
    make_app: Callable[..., Flask],
) -> None:
    reply = make_app().test_client().get("/metrics", headers=AUTH)
    assert reply.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "not_bearer"],
)
def test_metrics_needs_its_token(client: FlaskClient, headers: dict[str, str]) -> None:
    reply = client.get("/metrics", headers=headers)
    assert reply.status_code == 401
    assert reply.json["code"] == "metrics.token_required"
    assert b"anjian_" not in reply.data


def test_a_short_metrics_token_or_an_unknown_log_format_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="ANJIAN_METRICS_TOKEN"):
        Config.from_env({"ANJIAN_ENV": "test", "ANJIAN_METRICS_TOKEN": "short"})
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Config.from_env({"ANJIAN_ENV": "test", "LOG_FORMAT": "xml"})


def test_requests_are_counted_by_url_rule_and_status_never_by_raw_path(
    client: FlaskClient, session: Session, app: Flask
) -> None:
    unit = make_unit(session)
    headers = bearer_headers(app, session, make_user(session, unit, Role.inspector))
    ids = [str(make_enterprise(session, unit).id) for _ in range(2)]
    session.commit()
    rule = "/api/v1/enterprises/<uuid:enterprise_id>"
    before = scrape(client)
    for enterprise_id in ids:
        assert (
            client.get(f"/api/v1/enterprises/{enterprise_id}", headers=headers).status_code == 200
        )
    assert client.get(f"/api/v1/enterprises/{ids[0]}").status_code == 401
    assert client.get("/no/such/path/" + ids[1]).status_code == 404
    after = scrape(client)

    def delta(status: str, route: str = rule) -> float:
        name = "anjian_http_requests_total"
        labels = {"route": route, "method": "GET", "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("200") == 2
    assert delta("401") == 1
    assert delta("404", "<unmatched>") == 1
    routes = {dict(labels).get("route") for (_name, labels) in after}
    assert not any(route and ids[0] in route for route in routes)  # no raw path as a label


def test_a_push_counts_its_commands_by_status_and_rejection_code(
    client: FlaskClient, session: Session, app: Flask
) -> None:
    unit = make_unit(session)
    enterprise = make_enterprise(session, unit, sector="confined_space")
    headers = bearer_headers(app, session, make_user(session, unit, Role.inspector))
    session.commit()
    tablet = Tablet(client, headers)
    before = scrape(client)
    reply = tablet.push(
        tablet.command("inspection.save@1", save_args(session, enterprise.id)),
        tablet.command("no.such_command@1", {}),
    )
    assert [r["status"] for r in reply.json["results"]] == ["applied", "rejected"], reply.json
    code = reply.json["results"][1]["code"]
    pulled = tablet.pull()
    assert pulled.status_code == 200
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("anjian_sync_commands_total", status="applied", code="") == 1
    assert delta("anjian_sync_commands_total", status="rejected", code=code) == 1
    assert delta("anjian_sync_requests_total", operation="push", outcome="ok") == 1
    assert delta("anjian_sync_requests_total", operation="pull", outcome="ok") == 1
    assert delta("anjian_sync_request_duration_seconds_count", operation="push") == 1
    assert delta("anjian_sync_pull_changes_total") == len(pulled.json["changes"])


def test_the_outbox_backlog_is_read_at_scrape_time_not_counted(
    client: FlaskClient, session: Session
) -> None:
    rows = [
        OutboxItem(kind="media.derivatives", key=f"metrics-backlog-{i}", payload={"id": "x"})
        for i in range(3)
    ]
    session.add_all(rows)
    session.commit()
    # Changed behind the service's back: a counter could not know, a reading at scrape time does.
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == rows[0].id)
        .values(status="failed", last_error="RuntimeError: store down")
    )
    session.commit()
    samples = scrape(client)

    def in_db(status: str) -> int:
        return session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.kind == "media.derivatives", OutboxItem.status == status)
        )

    for status in ("pending", "failed"):
        expected = in_db(status)
        assert value(samples, "anjian_outbox_rows", kind="media.derivatives", status=status) == (
            expected
        )
    assert value(samples, "anjian_outbox_oldest_pending_age_seconds") >= 0
    assert value(samples, "anjian_scrape_source_up", source="database") == 1


def test_a_scrape_answers_when_the_database_and_redis_are_unreachable(tmp_path: Path) -> None:
    nowhere = free_port()  # nothing listens there
    config = make_config(
        tmp_path,
        f"postgresql+psycopg://postgres@127.0.0.1:{nowhere}/anjian",
        ANJIAN_METRICS_TOKEN=TOKEN,
        REDIS_URL=f"redis://127.0.0.1:{nowhere}/0",
    )
    down = create_app(config)
    samples = scrape(down.test_client())
    down.extensions["anjian"].db.dispose()
    assert value(samples, "anjian_scrape_source_up", source="database") == 0
    assert value(samples, "anjian_scrape_source_up", source="redis") == 0
    assert value(samples, "anjian_outbox_rows", kind="media.derivatives", status="pending") == 0


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("tablet-7.req:42", True),
        ("0f5c1a2e-9b7d-4c3a-8e1f-2d6b9a0c4e57", True),
        ("has space", False),
        ("x" * 129, False),
        ("<script>", False),
        ("", False),
    ],
)
def test_a_sane_request_id_is_kept_and_anything_else_replaced(
    client: FlaskClient, sent: str, kept: bool
) -> None:
    reply = client.get("/healthz", headers={"X-Request-ID": sent} if sent else {})
    returned = reply.headers["X-Request-ID"]
    if kept:
        assert returned == sent
    else:
        assert returned != sent
        assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_each_request_gets_its_own_id(client: FlaskClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_the_request_line_names_the_route_user_device_status_and_request_id(
    client: FlaskClient, session: Session, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    unit = make_unit(session)
    user = make_user(session, unit, Role.inspector)
    headers = bearer_headers(app, session, user)
    session.commit()
    tablet = Tablet(client, headers)
    with caplog.at_level(logging.INFO, logger="anjian.request"):
        reply = tablet.pull()
    lines = [r for r in caplog.records if r.name == "anjian.request"]
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["request_id"] == reply.headers["X-Request-ID"]
    assert line["route"] == "/api/v1/sync/pull"
    assert line["method"] == "POST"
    assert line["status"] == reply.status_code == 200
    assert line["user_id"] == str(user.id)
    assert line["device_id"] == tablet.device_id
    assert line["duration_ms"] >= 0


def test_a_refused_signed_in_request_keeps_its_status_and_names_its_caller(
    client: FlaskClient, session: Session, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal rolls the session back and expires the caller's ORM objects: the request line,
    written after that, must not need them (it once turned this 404 into a 500)."""
    unit = make_unit(session)
    user = make_user(session, unit, Role.inspector)
    headers = bearer_headers(app, session, user)
    other = make_enterprise(session, make_unit(session))
    session.commit()
    with caplog.at_level(logging.INFO, logger="anjian.request"):
        reply = client.get(f"/api/v1/enterprises/{other.id}", headers=headers)
    assert reply.status_code == 404
    [line] = [r.__dict__ for r in caplog.records if r.name == "anjian.request"]
    assert (line["status"], line["user_id"]) == (404, str(user.id))


def test_a_photo_upload_is_counted_with_its_bytes(
    client: FlaskClient, session: Session, app: Flask
) -> None:
    headers = bearer_headers(app, session, make_user(session, make_unit(session), Role.inspector))
    session.commit()
    photo = camera_jpeg()
    before = scrape(client)
    reply = client.put(
        f"/api/v1/media/{hashlib.sha256(photo).hexdigest()}",
        data=photo,
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert reply.status_code == 200, reply.json
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("anjian_sync_requests_total", operation="upload", outcome="ok") == 1
    assert delta("anjian_upload_bytes_total", kind="photo") == len(photo)


def test_job_runs_are_counted_by_kind_and_outcome(
    client: FlaskClient, session: Session, app: Flask
) -> None:
    unit = make_unit(session)
    row = OutboxItem(
        kind="media.arrived",
        key="metrics-arrived",
        payload={"sha256": "0" * 64, "unit_id": str(unit.id)},
    )
    session.add(row)
    session.commit()
    before = scrape(client)
    assert outbox.run(row.id) == "done"
    assert outbox.run(row.id) == "skipped"  # done already: nothing to claim
    after = scrape(client)

    def delta(outcome: str) -> float:
        name, labels = "anjian_jobs_total", {"kind": "media.arrived", "outcome": outcome}
        return value(after, name, **labels) - value(before, name, **labels)

    assert (delta("done"), delta("skipped"), delta("failed")) == (1, 1, 0)

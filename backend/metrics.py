"""The service's Prometheus metrics: what is counted as it happens, in every process.

Names and labels are a contract (the fleet run, the fault suite and dashboards read them):
docs/metrics.md lists them. Counters and histograms live in this process; under gunicorn and
`anjian worker` each process writes its own values to PROMETHEUS_MULTIPROC_DIR and a scrape sums
them (backend/telemetry.py). What is a state rather than an event (the outbox backlog, rq queue
sizes) is not counted here: it is read from the database and Redis at scrape time
(backend/jobs/metrics.py).

This module imports prometheus_client only, so views may count through it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics, values

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def process_identity() -> str:
    """What names this process's files in PROMETHEUS_MULTIPROC_DIR: host and pid, so processes
    of two containers sharing the directory (the API's and a worker's) never share a file."""
    return f"{socket.gethostname()}-{os.getpid()}"


disable_created_metrics()  # no `_created` series: they double the output and nobody reads them
if os.environ.get(MULTIPROC_ENV):  # before any metric exists
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identity)

# Seconds; the targets of issue 12 (pull 0.5 s, push 1 s, upload 3 s) fall on bucket bounds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)

UNMATCHED = "<unmatched>"  # a path no route matches: one label value, never the raw path

HTTP_REQUESTS = Counter(
    "anjian_http_requests",
    "HTTP requests answered, by route (the URL rule, not the path), method and status",
    ("route", "method", "status"),
)
HTTP_DURATION = Histogram(
    "anjian_http_request_duration_seconds",
    "Time from the request reaching the app to its response (commit included), by route",
    ("route", "method"),
    buckets=LATENCY_BUCKETS,
)

# The tablet protocol's three calls: push (POST /sync/push), pull (POST /sync/pull) and a photo
# upload (PUT /media/<sha256>), by outcome: "ok" (2xx), "refused" (4xx), "error" (5xx).
SYNC_OPERATIONS: Mapping[tuple[str, str], str] = {
    ("POST", "/api/v1/sync/push"): "push",
    ("POST", "/api/v1/sync/pull"): "pull",
    ("PUT", "/api/v1/media/<sha256>"): "upload",
}
SYNC_REQUESTS = Counter(
    "anjian_sync_requests",
    "Tablet protocol calls (push, pull, upload) by outcome (ok, refused, error)",
    ("operation", "outcome"),
)
SYNC_DURATION = Histogram(
    "anjian_sync_request_duration_seconds",
    "Tablet protocol calls' duration, by operation",
    ("operation",),
    buckets=LATENCY_BUCKETS,
)
SYNC_COMMANDS = Counter(
    "anjian_sync_commands",
    "Pushed commands by the status their push committed (applied, duplicate, rejected, "
    "conflict) and, for a rejection, its code",
    ("status", "code"),
)
SYNC_PULL_CHANGES = Counter(
    "anjian_sync_pull_changes", "Changes served to tablets by pull (committed replies)"
)
UPLOAD_BYTES = Counter(
    "anjian_upload_bytes", "Bytes of photos and documents accepted by uploads", ("kind",)
)

JOBS = Counter(
    "anjian_jobs",
    "Outbox jobs run, by kind and outcome (done, skipped, lost, failed)",
    ("kind", "outcome"),
)
JOB_DURATION = Histogram(
    "anjian_job_duration_seconds",
    "Outbox jobs' run time (claim, work, record), by kind",
    ("kind",),
    buckets=JOB_BUCKETS,
)


def outcome_of(status: int) -> str:
    return "error" if status >= 500 else "refused" if status >= 400 else "ok"


UPLOADS: Mapping[tuple[str, str], str] = {
    ("PUT", "/api/v1/media/<sha256>"): "photo",
    ("PUT", "/api/v1/documents/<sha256>"): "document",
}


def observe_request(
    route: str, method: str, status: int, seconds: float, body_bytes: int | None = None
) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    upload = UPLOADS.get((method, route))
    if upload is not None and status < 300 and body_bytes:
        UPLOAD_BYTES.labels(upload).inc(body_bytes)
    HTTP_DURATION.labels(route, method).observe(seconds)
    operation = SYNC_OPERATIONS.get((method, route))
    if operation is not None:
        SYNC_REQUESTS.labels(operation, outcome_of(status)).inc()
        SYNC_DURATION.labels(operation).observe(seconds)


def count_commands(results: Iterable[Mapping[str, Any]]) -> None:
    for result in results:
        status = str(result.get("status", ""))
        code = str(result.get("code") or "") if status == "rejected" else ""
        SYNC_COMMANDS.labels(status, code).inc()


def count_job(kind: str, outcome: str, seconds: float) -> None:
    JOBS.labels(kind, outcome).inc()
    JOB_DURATION.labels(kind).observe(seconds)

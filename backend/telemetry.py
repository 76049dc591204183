"""Seeing what the API does: a request id, one log line and the metrics of every request, and
the `/metrics` endpoint Prometheus scrapes.

- **Request id.** An incoming `X-Request-ID` is kept if it is sane (1–128 characters of letters,
  digits and `-_.:`); otherwise one is made. It is on every log line of the request and in the
  reply's `X-Request-ID` header.
- **Request line.** One JSON line per request (logger `anjian.request`): method, route (the URL
  rule, never the raw path), path, status, duration_ms, user_id, device_id, request_id.
- **Metrics.** backend/metrics.py; summed over every process that shares
  PROMETHEUS_MULTIPROC_DIR (gunicorn's workers, `anjian worker`s on the same machine), plus
  the states read at scrape time (backend/jobs/metrics.py).
- **`/metrics`** answers only with `Authorization: Bearer <ANJIAN_METRICS_TOKEN>`, and is
  absent (404) when no token is configured (docs/decision-metrics.md).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from typing import Any

from flask import Flask, current_app, g, request
from flask.wrappers import Request
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from . import metrics
from .errors import DomainError
from .extensions import Services

log = logging.getLogger("anjian.request")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
HEADER = "X-Request-ID"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsTokenRequired(DomainError):
    status, code = 401, "metrics.token_required"


class TimedRequest(Request):
    """A request that knows when it arrived and its id, from the moment it exists (before any
    hook runs, so an early 404 is timed and logged like any other reply)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = time.perf_counter()
        incoming = self.headers.get(HEADER, "")
        self.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex


def route_of(req: Request) -> str:
    rule = req.url_rule
    return rule.rule if rule is not None else metrics.UNMATCHED


def _who() -> tuple[str | None, str | None]:
    user_id, device_id = g.get("caller") or (None, None)
    named = g.get("device_id")  # the device a sync call names
    return user_id, str(named) if named else device_id


def finish(response: Response) -> Response:
    """The last after-request hook (registered first): the response is final, commit done.
    Counting or logging never turns a reply into an error."""
    try:
        _observe(response)
    except Exception:
        logging.getLogger(__name__).exception("could not count or log a request")
    return response


def _observe(response: Response) -> None:
    req: Any = request
    seconds = time.perf_counter() - getattr(req, "started", time.perf_counter())
    route, status = route_of(request), response.status_code
    response.headers[HEADER] = getattr(req, "request_id", "")
    metrics.observe_request(route, request.method, status, seconds, request.content_length)
    user_id, device_id = _who()
    log.info(
        "%s %s %s",
        request.method,
        route,
        status,
        extra={
            "request_id": getattr(req, "request_id", None),
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "user_id": user_id,
            "device_id": device_id,
        },
    )


# --- /metrics ------------------------------------------------------------------------------------


class _ThisProcess(Collector):
    """The default registry's metrics (this process only: the embedded default, tests)."""

    def collect(self) -> Any:
        yield from REGISTRY.collect()


def scrape_registry(services: Services) -> CollectorRegistry:
    from .jobs.metrics import StateCollector

    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # every process's counters, summed
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector(services))
    return registry


def metrics_view() -> Response:
    svc: Services = current_app.extensions["anjian"]
    expected = svc.config.metrics_token
    if not expected:
        raise NotFound()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise MetricsTokenRequired(
            "Send 'Authorization: Bearer <token>' with the token in ANJIAN_METRICS_TOKEN."
        )
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(scrape_registry(svc)), headers={"Content-Type": content_type})


def register(app: Flask) -> None:
    """Call before any other after-request hook is registered, so `finish` runs last."""
    app.request_class = TimedRequest
    app.after_request(finish)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])

"""States read at scrape time, never counted: the outbox backlog from the database (the truth
about work owed, whichever process will do it), and rq's queue sizes and workers from Redis.

A source that cannot be reached gives `anjian_scrape_source_up{source=...} 0` and none of its
figures; the scrape itself still answers, so a bad day stays visible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rq import Worker
from sqlalchemy import func, select

from backend.models import OutboxItem, utcnow

from .runtime import QUEUE, RqDispatcher

if TYPE_CHECKING:
    from backend.extensions import Services

log = logging.getLogger(__name__)
NOT_DONE = ("pending", "failed")
RQ_STATES = ("queued", "started", "scheduled", "deferred", "failed")


class StateCollector(Collector):
    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "anjian_scrape_source_up",
            "1 if the scrape could read this source (database, redis), else 0",
            labels=["source"],
        )
        yield from self._outbox(up)
        yield from self._rq(up)
        yield up

    def _outbox(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        rows = GaugeMetricFamily(
            "anjian_outbox_rows",
            "Outbox rows not yet done, by kind and status (pending: owed; failed: gave up "
            "after its attempts, waiting for an admin's retry)",
            labels=["kind", "status"],
        )
        oldest = GaugeMetricFamily(
            "anjian_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 if none)",
        )
        try:
            with self.services.db.session() as session:
                counts = session.execute(
                    select(OutboxItem.kind, OutboxItem.status, func.count())
                    .where(OutboxItem.status.in_(NOT_DONE))
                    .group_by(OutboxItem.kind, OutboxItem.status)
                ).all()
                first = session.scalar(
                    select(func.min(OutboxItem.created_at)).where(OutboxItem.status == "pending")
                )
        except Exception as exc:
            log.warning("metrics: the database could not be read: %s", type(exc).__name__)
            up.add_metric(["database"], 0)
            return
        up.add_metric(["database"], 1)
        for kind, status, count in counts:
            rows.add_metric([kind, status], count)
        oldest.add_metric([], (utcnow() - first).total_seconds() if first is not None else 0.0)
        yield rows
        yield oldest

    def _rq(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        dispatcher = self.services.dispatcher
        if not isinstance(dispatcher, RqDispatcher):
            return  # the embedded default: jobs run in-process, there is no queue to measure
        jobs = GaugeMetricFamily(
            "anjian_rq_jobs", "rq jobs by queue and state", labels=["queue", "state"]
        )
        workers = GaugeMetricFamily(
            "anjian_rq_workers", "rq workers listening on the queue", labels=["queue"]
        )
        queue = dispatcher.queue
        try:
            sizes = {
                "queued": queue.count,
                "started": queue.started_job_registry.count,
                "scheduled": queue.scheduled_job_registry.count,
                "deferred": queue.deferred_job_registry.count,
                "failed": queue.failed_job_registry.count,
            }
            listening = Worker.count(queue=queue)
        except Exception as exc:
            log.warning("metrics: Redis could not be read: %s", type(exc).__name__)
            up.add_metric(["redis"], 0)
            return
        up.add_metric(["redis"], 1)
        for state in RQ_STATES:
            jobs.add_metric([QUEUE, state], sizes[state])
        workers.add_metric([QUEUE], listening)
        yield jobs
        yield workers

"""How jobs reach a worker, and the collaborators a job runs with."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rq import Queue, Retry, SimpleWorker
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy.orm import configure_mappers

from backend.extensions import Dispatcher

from . import redis_connection

if TYPE_CHECKING:
    from backend.extensions import Services

log = logging.getLogger(__name__)
QUEUE = "anjian"
RETRY = Retry(max=5, interval=[5, 15, 60, 180, 600])

DONE = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED)

_services: Services | None = None


def bind(services: Services) -> None:
    """Give jobs in this process their database, store and config, and deliver the outbox rows
    of every session in this process at its commit (`delivery`)."""
    global _services
    _services = services
    from . import delivery

    delivery.install()


def services() -> Services:
    if _services is None:
        raise RuntimeError("no services bound; jobs run under `anjian worker` or `anjian run`")
    return _services


def bound() -> Services | None:
    return _services


class RqDispatcher:
    def __init__(self, url: str) -> None:
        self.queue = Queue(QUEUE, connection=redis_connection(url), serializer=JSONSerializer)

    def check(self) -> None:
        self.queue.connection.ping()

    def withdraw(self, job_ids: list[str]) -> None:
        """Delete jobs still waiting in the queue; one a worker has started is left alone (it
        finds its row done and skips it)."""
        for job in Job.fetch_many(
            job_ids, connection=self.queue.connection, serializer=JSONSerializer
        ):
            if job is not None and job.get_status(refresh=False) is JobStatus.QUEUED:
                job.delete()

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        """Queue once: the same job id waiting or running is not queued again; a finished or
        failed one is replaced, so the work can be asked for again later."""
        try:
            self._enqueue(func, args, job_id, at_front)
        except DuplicateJobError:
            existing = Job.fetch(
                job_id, connection=self.queue.connection, serializer=JSONSerializer
            )
            if existing.get_status(refresh=True) not in DONE:
                return
            existing.delete()
            with contextlib.suppress(DuplicateJobError):  # someone else re-queued it first
                self._enqueue(func, args, job_id, at_front)

    def _enqueue(self, func: str, args: tuple[Any, ...], job_id: str, at_front: bool) -> None:
        self.queue.enqueue(
            func,
            *args,
            job_id=job_id,
            at_front=at_front,
            unique=True,
            retry=RETRY,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )


class InProcessDispatcher:
    """The embedded default: one daemon thread runs jobs in order, in this process."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, tuple[Any, ...], str]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="anjian-jobs", daemon=True)
                self._thread.start()
        self._queue.put((func, args, job_id))

    def check(self) -> None:
        """Nothing to reach: the jobs run in this process."""

    def withdraw(self, job_ids: list[str]) -> None:
        """Jobs already queued here run and skip their done rows: cheap in-process."""

    def join(self) -> None:
        self._queue.join()

    def _run(self) -> None:
        while True:
            func, args, job_id = self._queue.get()
            try:
                resolve(func)(*args)
            except Exception:
                log.exception("job %s (%s) failed", job_id, func)
            finally:
                self._queue.task_done()


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class AnjianWorker(SimpleWorker):
    """An rq worker that runs every job in the worker process itself, warm: no fork, no ORM or
    connection set-up per job. A job killed with its worker leaves its outbox row claimed until
    the lease runs out; then the row is taken back (see `outbox`)."""


def make_dispatcher(redis_url: str | None) -> Dispatcher:
    return RqDispatcher(redis_url) if redis_url else InProcessDispatcher()


def start_sweeper(services: Services, interval: float | None = None) -> threading.Thread:
    """Re-deliver outbox work that Redis lost or a killed worker dropped, every `interval`
    (default ANJIAN_SWEEP_INTERVAL, 30 s); collect unreferenced photos once an hour;
    housekeeping every six hours."""
    if interval is None:
        interval = float(services.config.sweep_interval_seconds)
    from . import gc, maintenance
    from .outbox import sweep

    def loop() -> None:
        while True:
            try:
                sweep(services)
            except Exception:
                log.exception("outbox sweep failed; trying again in %s s", interval)
            try:
                gc.run_if_due(services)
            except Exception:
                log.exception("media garbage collection failed; trying again later")
            try:
                maintenance.run_if_due(services)
            except Exception:
                log.exception("housekeeping failed; trying again later")
            threading.Event().wait(interval)

    thread = threading.Thread(target=loop, name="anjian-sweeper", daemon=True)
    thread.start()
    return thread


def run_worker(services: Services, *, burst: bool = False) -> bool:
    url = services.config.redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set: without Redis, `anjian run` runs jobs itself")
    bind(services)
    configure_mappers()  # once, before the first job
    # rq forks its scheduler: the child must never use (or close) the parent's connections.
    os.register_at_fork(after_in_child=lambda: services.db.engine.dispose(close=False))
    if not burst:
        start_sweeper(services)
    worker = AnjianWorker([QUEUE], connection=redis_connection(url), serializer=JSONSerializer)
    try:
        return bool(worker.work(burst=burst, with_scheduler=True))
    finally:
        services.db.dispose()  # the jobs' connections, opened in this process

"""Garbage collection of photo objects: periodic (the sweeper loop, hourly) or on demand
(`anjian media gc`). Each photo is handled in transactions of its own, so a run that dies midway
leaves nothing half done, and several processes may run it at once."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from backend.extensions import Services
from backend.models import utcnow
from backend.services.media import collection
from backend.services.media.uploads import DIRECT_UPLOAD_SECONDS

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 3600
# Direct uploads never completed: their presigned URL expired long ago.
STAGING_AGE = timedelta(seconds=DIRECT_UPLOAD_SECONDS) + timedelta(days=1)
_BATCH = 500


@dataclass
class Report:
    collected: int = 0  # photos no record referenced
    orphans: int = 0  # objects no row claimed
    staging: int = 0  # direct uploads never completed


def collect(svc: Services, *, now: datetime | None = None) -> Report:
    """Delete what no record referenced within ANJIAN_MEDIA_GC_AGE; return what went."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=svc.config.media_gc_age_seconds)
    report = Report()
    with svc.db.session() as session:
        ids = collection.candidates(session, cutoff)
    for media_id in ids:
        with svc.db.session() as session:
            collection.mark(session, media_id, cutoff, now)
    with svc.db.session() as session:
        ids = collection.marked(session)
    for media_id in ids:
        with svc.db.session() as session:
            report.collected += collection.collect(session, svc.store, media_id)
    report.orphans = _orphans(svc, cutoff)
    report.staging = _staging(svc, now - STAGING_AGE)
    return report


def _orphans(svc: Services, cutoff: datetime) -> int:
    deleted = 0
    keys = collection.stored_keys(svc.store, cutoff)
    while batch := list(islice(keys, _BATCH)):
        with svc.db.session() as session:
            rowless = collection.rowless(session, [sha for _key, sha in batch])
        for key, sha256 in batch:
            if sha256 in rowless:
                with svc.db.session() as session:
                    deleted += collection.orphan(session, svc.store, key, sha256)
    return deleted


def _staging(svc: Services, cutoff: datetime) -> int:
    stale = [key for key, modified in svc.store.iter_keys("staging/") if modified < cutoff]
    for key in stale:
        svc.store.delete(key)
    return len(stale)


_last_run = 0.0
_lock = threading.Lock()


def run_if_due(svc: Services, *, interval: float = INTERVAL_SECONDS) -> Report | None:
    """Called by the sweeper loop every 30 s: collect once per `interval` in this process."""
    global _last_run
    with _lock:
        if time.monotonic() - _last_run < interval and _last_run:
            return None
        _last_run = time.monotonic()
    report = collect(svc)
    if report.collected or report.orphans or report.staging:
        log.info("media gc: %s", report)
    return report

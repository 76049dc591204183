"""Housekeeping jobs: forgetting what no longer protects anything, run by the sweeper."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from backend.extensions import Services
from backend.models import AccessToken, utcnow
from backend.models.organisation import LoginFailure

from .runtime import services

log = logging.getLogger(__name__)

TOKEN_GRACE = timedelta(days=30)
FAILURE_MEMORY = timedelta(days=1)
"""Failed sign-ins are counted towards a lock-out until a day passes without another (or the
user signs in). Every wrong username leaves a row, so without this the table only grows."""
INTERVAL_SECONDS = 6 * 3600


def purge_expired_tokens() -> int:
    """Delete tokens that expired or were revoked more than 30 days ago. Safe to repeat."""
    with services().db.session() as session:
        return _purge_tokens(session, utcnow())


def _purge_tokens(session: Session, now: datetime) -> int:
    cutoff = now - TOKEN_GRACE
    result = session.execute(
        delete(AccessToken).where(
            or_(AccessToken.expires_at < cutoff, AccessToken.revoked_at < cutoff)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune_login_failures(session: Session, now: datetime) -> int:
    """Forget failure counts with no failure for a day and no lock-out still running."""
    result = session.execute(
        delete(LoginFailure).where(
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
            or_(
                LoginFailure.last_failure_at.is_(None),
                LoginFailure.last_failure_at < now - FAILURE_MEMORY,
            ),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Report:
    tokens: int
    login_failures: int


def housekeeping(svc: Services, now: datetime | None = None) -> Report:
    now = now or utcnow()
    with svc.db.session() as session:
        return Report(_purge_tokens(session, now), prune_login_failures(session, now))


_last_run = 0.0
_lock = threading.Lock()


def run_if_due(svc: Services, *, interval: float = INTERVAL_SECONDS) -> Report | None:
    """Called by the sweeper loop every 30 s: housekeeping once per `interval` in this process."""
    global _last_run
    with _lock:
        if _last_run and time.monotonic() - _last_run < interval:
            return None
        report = housekeeping(svc)  # a failure is tried again at the next sweep
        _last_run = time.monotonic()
    if report.tokens or report.login_failures:
        log.info("housekeeping: %s", report)
    return report

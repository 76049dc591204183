"""Housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from backend.models import AccessToken, utcnow

from .runtime import services

TOKEN_GRACE = timedelta(days=30)


def purge_expired_tokens() -> int:
    """Delete tokens that expired or were revoked more than 30 days ago. Safe to repeat."""
    cutoff = utcnow() - TOKEN_GRACE
    with services().db.session() as session:
        result = session.execute(
            delete(AccessToken).where(
                or_(AccessToken.expires_at < cutoff, AccessToken.revoked_at < cutoff)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

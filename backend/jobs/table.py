"""Every job kind and its handler, in one table (tests check that none is missing)."""

from __future__ import annotations

from backend.services.outbox import JobKind

from . import bundles, derivatives, ledger
from .handler import Handler

HANDLERS: dict[str, Handler] = {
    JobKind.ledger_entries: ledger.CREATE_ENTRIES,
    JobKind.media_derivatives: derivatives.MAKE_DERIVATIVES,
    JobKind.media_arrived: derivatives.PHOTO_ARRIVED,
    JobKind.bundle_build: bundles.BUILD_BUNDLE,
}

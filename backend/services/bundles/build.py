"""Building a bundle: claim → plan → render → pack → record.

Only claim, plan and record touch the database, each in a short transaction of its own; the
summary is rendered and the ZIP streamed from the store into the store with no transaction
open, so a build of any length blocks no tablet push (SQLite has one writer) and holds back no
PostgreSQL snapshot. Progress is written at most once a second, in short transactions too.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update

from backend import faults
from backend.db import Database
from backend.models import Bundle, BundleState, utcnow
from media import ObjectStore, StoreUnavailable
from media.bundle import MANIFEST, SHA256SUMS, Entry, manifest_bytes, sha256sums, write_zip

from . import summary as summaries
from .plan import Plan
from .registry import SCOPES

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # renewed with every progress write
PROGRESS_EVERY = 1.0  # seconds


@dataclass(frozen=True)
class Outcome:
    state: BundleState
    reason: str | None = None


Progress = Callable[[int, int], None]


def zip_key(fingerprint: str) -> str:
    return f"bundles/{fingerprint[:2]}/{fingerprint}.zip"


def build(
    db: Database,
    store: ObjectStore,
    bundle_id: uuid.UUID,
    *,
    progress: Progress | None = None,
    font: str | None = None,
) -> Outcome:
    """Build the bundle unless it is ready or another worker holds a live claim on it.

    A source that changed or vanished fails the bundle with the reason; an unreachable store
    puts it back in the queue and re-raises, so the job is retried."""
    claimed = _claim(db, bundle_id)
    if claimed is not None:
        return claimed
    clock = [time.perf_counter()]
    rendered: list[summaries.Pdf] = []
    future: Future[summaries.Pdf] | None = None
    try:
        plan = _plan(db, bundle_id)
        clock.append(time.perf_counter())
        with db.session() as session:
            fingerprint = session.get_one(Bundle, bundle_id).fingerprint
        # summary.pdf renders (in a child process) while the photos stream; it and the
        # manifest that lists it follow them into the ZIP.
        with ThreadPoolExecutor(1, thread_name_prefix="anjian-summary") as pool:
            future = pool.submit(_render, store, plan, font or summaries.FONT)

            def tail() -> list[Entry]:
                faults.reached("bundle.packing")
                rendered.append(future.result())
                return _tail(plan, rendered[0])

            written = write_zip(
                store,
                zip_key(fingerprint),
                plan.files,
                date_time=plan.date_time,
                progress=_Reporter(db, bundle_id, progress),
                tail=tail,
            )
    except StoreUnavailable as exc:
        _finish(db, bundle_id, state=BundleState.queued, reason=f"retrying: {exc}")
        raise
    except Exception as exc:
        log.warning("bundle %s failed: %s", bundle_id, exc, exc_info=True)
        _finish(db, bundle_id, state=BundleState.failed, reason=f"{type(exc).__name__}: {exc}")
        return Outcome(BundleState.failed, str(exc))
    finally:
        _forget(store, future)
    clock.append(time.perf_counter())
    pdf = rendered[0]
    plan_s, pack_s = (b - a for a, b in itertools.pairwise(clock))
    log.info(
        "bundle %s: planned in %.2f s, summary rendered in %.2f s meanwhile, "
        "%d bytes packed in %.2f s",
        bundle_id,
        plan_s,
        pdf.seconds,
        written.size,
        pack_s,
        extra={"bundle_timings": {"plan": plan_s, "render": pdf.seconds, "pack": pack_s}},
    )
    summary = {"html": True, "pdf": pdf.key is not None, "pdf_skipped": pdf.skipped}
    _finish(
        db,
        bundle_id,
        state=BundleState.ready,
        key=zip_key(fingerprint),
        size=written.size,
        sha256=written.sha256,
        summary=summary,
        done_bytes=Bundle.total_bytes,
        reason=None,
    )
    return Outcome(BundleState.ready)


def _claim(db: Database, bundle_id: uuid.UUID) -> Outcome | None:
    """Take the bundle (queued, or building under a lapsed claim); an Outcome if not."""
    now = utcnow()
    with db.session() as session:
        taken = session.execute(
            update(Bundle)
            .where(
                Bundle.id == bundle_id,
                or_(
                    Bundle.state == BundleState.queued,
                    (Bundle.state == BundleState.building) & (Bundle.lease_until < now),
                ),
            )
            .values(
                state=BundleState.building,
                attempts=Bundle.attempts + 1,
                lease_until=now + LEASE,
                started_at=now,
                reason=None,
            )
        ).rowcount  # type: ignore[attr-defined]
        if taken:
            return None
        row = session.get(Bundle, bundle_id)
        return Outcome(row.state if row else BundleState.failed, "not claimed")


def _plan(db: Database, bundle_id: uuid.UUID) -> Plan:
    with db.session() as session:
        bundle = session.get_one(Bundle, bundle_id)
        plan = SCOPES[bundle.scope].collect(session, bundle.subject_id)
        if plan.fingerprint() != bundle.fingerprint:
            # The records changed after the request: build what they are now, under the new
            # fingerprint, unless another row already has it (then that row is the bundle).
            clash = session.query(Bundle.id).filter_by(
                scope=bundle.scope, subject_id=bundle.subject_id, fingerprint=plan.fingerprint()
            )
            if session.query(clash.exists()).scalar():
                raise RuntimeError("the records changed after the request; ask for it again")
            bundle.fingerprint = plan.fingerprint()
        bundle.total_bytes = plan.total_bytes
        return plan


def _forget(store: ObjectStore, future: Future[summaries.Pdf] | None) -> None:
    """Delete the stored summary.pdf: it lives in the ZIP now (or the build failed)."""
    if future is None or future.cancelled() or future.exception() is not None:
        return
    key = future.result().key
    if key is not None:
        store.delete(key)


def _render(store: ObjectStore, plan: Plan, font: str) -> summaries.Pdf:
    return summaries.render_pdf(store, plan.summary, plan.title, font=font)


def _tail(plan: Plan, pdf: summaries.Pdf) -> list[Entry]:
    """What follows the photos: the summaries, the manifest of every file, SHA256SUMS."""
    html = summaries.render_html(plan.summary, plan.title, summaries.in_zip)
    made = [Entry.of_bytes("summary.html", html.encode(), kind="summary")]
    if pdf.key is not None:
        made.append(
            Entry("summary.pdf", pdf.sha256, pdf.size, key=pdf.key, meta={"kind": "summary"})
        )
    files = [*plan.files, *made]
    about = {**plan.about, "title": plan.title, "pdf_skipped": pdf.skipped}
    manifest = Entry.of_bytes(MANIFEST, manifest_bytes(files, about))
    return [*made, manifest, Entry.of_bytes(SHA256SUMS, sha256sums([*files, manifest]))]


class _Reporter:
    """Writes progress (and renews the claim) at most once every PROGRESS_EVERY seconds, and
    passes it on as often."""

    def __init__(self, db: Database, bundle_id: uuid.UUID, also: Progress | None) -> None:
        self.db, self.bundle_id, self.also = db, bundle_id, also
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done < total:
            return
        self.last = now
        if self.also is not None:  # the outbox row's progress and lease, the CLI's bar
            self.also(done, total)
        with self.db.session() as session:
            session.execute(
                update(Bundle)
                .where(Bundle.id == self.bundle_id)
                .values(done_bytes=done, total_bytes=total, lease_until=utcnow() + LEASE)
            )


def _finish(db: Database, bundle_id: uuid.UUID, *, state: BundleState, **values: object) -> None:
    with db.session() as session:
        session.execute(
            update(Bundle)
            .where(Bundle.id == bundle_id)
            .values(state=state, lease_until=None, finished_at=utcnow(), **values)
        )

"""Asking for a bundle: authorise, plan, then reuse the stored one or queue a build.

Load → authorise → act in the request's transaction: the bundle row and its outbox row commit
together, and the commit point hands the outbox row to the worker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.models import Bundle, BundleState, User
from backend.services import outbox

from .errors import BundleNotFound, ScopeNotYetAvailable, UnknownScope
from .registry import PLANNED, SCOPES

BUILD_JOB = outbox.JobKind.bundle_build


@dataclass(frozen=True)
class Requested:
    bundle: Bundle
    outbox_ids: list[int]  # delivered at the commit point
    reused: bool


def request(session: Session, user: User | None, scope: str, subject_id: uuid.UUID) -> Requested:
    """The bundle of ``scope`` ``subject_id`` as its records stand now. ``user`` None is the
    operator's CLI, which may bundle anything."""
    if scope in PLANNED:
        raise ScopeNotYetAvailable(
            f"Bundles of scope {scope!r} are not available yet: {PLANNED[scope]}",
            errors={"scope": [f"Not available yet; use one of {', '.join(SCOPES)}."]},
        )
    if scope not in SCOPES:
        raise UnknownScope(
            f"Unknown bundle scope {scope!r}; use one of {', '.join(SCOPES)}.",
            errors={"scope": [f"Must be one of {', '.join(SCOPES)}."]},
        )
    chosen = SCOPES[scope]
    if user is not None:
        chosen.authorise(session, user, subject_id)
    plan = chosen.collect(session, subject_id)
    fingerprint = plan.fingerprint()
    existing = _find(session, scope, subject_id, fingerprint)
    if existing is not None and existing.state is not BundleState.failed:
        return Requested(existing, [], reused=True)
    bundle = existing or _insert(session, scope, subject_id, fingerprint, plan.title, user)
    if bundle.state is not BundleState.queued and existing is not None:
        bundle.state, bundle.reason, bundle.lease_until = BundleState.queued, None, None
        bundle.done_bytes = 0
    bundle.total_bytes = plan.total_bytes
    item_id = outbox.add(
        session, BUILD_JOB, f"bundle:{bundle.id}:{uuid.uuid4().hex}", _payload(bundle)
    )
    return Requested(bundle, [item_id], reused=False)


def _payload(bundle: Bundle) -> dict[str, str]:
    return {"bundle_id": str(bundle.id)}


def _find(session: Session, scope: str, subject_id: uuid.UUID, fingerprint: str) -> Bundle | None:
    return session.scalars(
        select(Bundle).where(
            Bundle.scope == scope,
            Bundle.subject_id == subject_id,
            Bundle.fingerprint == fingerprint,
        )
    ).one_or_none()


def _insert(
    session: Session,
    scope: str,
    subject_id: uuid.UUID,
    fingerprint: str,
    title: str,
    user: User | None,
) -> Bundle:
    bundle = Bundle(
        scope=scope,
        subject_id=subject_id,
        fingerprint=fingerprint,
        title=title,
        requested_by=user.id if user else None,
        state=BundleState.queued,
        done_bytes=0,
        total_bytes=0,
        summary={},
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(bundle)
            session.flush()
    except IntegrityError:  # the same bundle asked for at the same moment: one row
        found = _find(session, scope, subject_id, fingerprint)
        assert found is not None
        return found
    return bundle


def get_visible(session: Session, user: User, bundle_id: uuid.UUID) -> Bundle:
    """The bundle, if the user may see every record in it (now); BundleNotFound otherwise."""
    bundle = session.get(Bundle, bundle_id)
    if bundle is None or bundle.scope not in SCOPES:
        raise BundleNotFound(f"Bundle {bundle_id} was not found.")
    try:
        SCOPES[bundle.scope].authorise(session, user, bundle.subject_id)
    except NotFound:
        raise BundleNotFound(f"Bundle {bundle_id} was not found.") from None
    return bundle

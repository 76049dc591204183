"""Thumbnails and display copies, made once per stored photo by the worker."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.models import MediaObject, utcnow
from media import DEFAULT_SIZES, ObjectStore, content_key, make_derivatives

# The derivatives are written side by side: each put is mostly waiting on the store.
_PUTS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="anjian-derivatives")


def make(session: Session, store: ObjectStore, media_id: int, *, max_pixels: int) -> bool:
    """Make and store the derivatives of one photo, then mark its row; False if there is
    nothing to do (already made, or the photo was collected).

    Safe to repeat after a crash at any point: the objects are written before the row is
    marked, and writing them again stores the same bytes under the same keys.
    """
    row = session.get(MediaObject, media_id)
    if row is None or row.collecting_since is not None or row.derived_at is not None:
        return False
    made = make_derivatives(
        store.get(content_key(row.sha256)), sizes=DEFAULT_SIZES, max_pixels=max_pixels
    )
    puts = [
        _PUTS.submit(store.put, content_key(row.sha256, kind), d.data, content_type=d.content_type)
        for kind, d in made.items()
    ]
    for put in puts:  # all of them written before the row says so
        put.result()
    record(session, media_id, {k: (d.width, d.height, len(d.data)) for k, d in made.items()})
    return True


def record(session: Session, media_id: int, made: dict[str, tuple[int, int, int]]) -> None:
    """Mark the row (an UPDATE by id: a row collected meanwhile is simply not there)."""
    session.execute(
        update(MediaObject)
        .where(MediaObject.id == media_id)
        .values(
            derivatives={k: {"width": w, "height": h, "size": n} for k, (w, h, n) in made.items()},
            derived_at=utcnow(),
        )
    )

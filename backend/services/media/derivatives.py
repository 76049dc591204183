"""Thumbnails and display copies, made once per stored photo by the worker."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.models import MediaObject, utcnow
from media import DEFAULT_SIZES, ObjectStore, content_key, iter_derivatives

# Each derivative is written while the next is made: a put is mostly waiting on the store.
_PUTS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="anjian-derivatives")


Made = dict[str, tuple[int, int, int]]  # derivative -> width, height, size


def todo(session: Session, media_id: int) -> str | None:
    """The photo's hash if its derivatives are still to make; None if they are made, or the
    photo is gone or being collected."""
    row = session.get(MediaObject, media_id)
    if row is None or row.collecting_since is not None or row.derived_at is not None:
        return None
    return row.sha256


def make(store: ObjectStore, sha256: str, *, max_pixels: int) -> Made:
    """Make and store the derivatives of one photo (no database: the job's I/O phase).

    Each derivative goes to the store as soon as it is encoded (the display copy while the
    thumbnail is made); this returns once every put has landed, and `record` marks the row
    afterwards, so a mark never names an object that is not there. Safe to repeat after a crash
    at any point: writing them again stores the same bytes under the same keys.
    """
    made: Made = {}
    puts: list[Future[None]] = []
    try:
        # Read as the decoder goes: the photo is decoded while the rest is still arriving.
        with closing(store.open(content_key(sha256))) as original:
            for kind, derived in iter_derivatives(
                original, sizes=DEFAULT_SIZES, max_pixels=max_pixels
            ):
                key = content_key(sha256, kind)
                data, content_type = derived.data, derived.content_type
                puts.append(_PUTS.submit(store.put, key, data, content_type=content_type))
                made[kind] = (derived.width, derived.height, len(derived.data))
    finally:
        wait(puts)  # every put landed or failed before this returns, whatever happened
    for put in puts:
        put.result()  # a failed put fails the job: nothing is marked
    return made


def record(session: Session, media_id: int, made: Made) -> None:
    """Mark the row (an UPDATE by id: a row collected meanwhile is simply not there)."""
    session.execute(
        update(MediaObject)
        .where(MediaObject.id == media_id)
        .values(
            derivatives={k: {"width": w, "height": h, "size": n} for k, (w, h, n) in made.items()},
            derived_at=utcnow(),
        )
    )

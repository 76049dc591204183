"""Fault injection for tests of what survives a crash: a named point where the process stops.

`ANJIAN_FAULT=<point>=<path of a FIFO>`, read once at start-up (`Config.fault`) and refused in
production. The first process to reach that point (of all that share the FIFO: every gunicorn
worker, and those started after a kill) takes it by creating `<FIFO>.taken`; the others pass as if
no fault were armed. The taker writes `<point> <pid>` to the FIFO (which blocks until the test
opens it for reading), then opens the FIFO again to read, which blocks until someone opens it for
writing. A test that kills that pid meanwhile knows exactly where the kill landed and that it
landed once. Nothing is faked: the process is the real server, stopped at a real place.

Points:

- `push.before_commit`: a push has written its batch and `last_seq`; its transaction is open.
- `push.after_commit`: the push is committed; its reply is not sent yet.
- `bundle.packing`: a bundle build has streamed its photos into the ZIP (the store's `put` is
  open, the row is `building`, no transaction is open); the summary, manifest and SHA256SUMS
  are not in yet.
"""

from __future__ import annotations

import os
from pathlib import Path

POINTS = ("push.before_commit", "push.after_commit", "bundle.packing")

_armed: dict[str, Path] = {}


def parse(spec: str) -> tuple[str, Path]:
    """`<point>=<path>` into its parts; ValueError for anything else."""
    point, sep, path = spec.partition("=")
    if not sep or point not in POINTS or not path:
        raise ValueError(f"expected <point>=<fifo path> with a point among {', '.join(POINTS)}")
    return point, Path(path)


def arm(fault: tuple[str, Path] | None) -> None:
    """Arm the configured fault (or none) for this process."""
    _armed.clear()
    if fault is not None:
        _armed[fault[0]] = fault[1]


def reached(point: str) -> None:
    path = _armed.get(point)
    if path is None or not _take(path):
        return
    with path.open("w") as fifo:  # blocks until the test reads
        fifo.write(f"{point} {os.getpid()}\n")
    with path.open() as fifo:  # blocks until the test writes, or kills this process
        fifo.read()


def _take(path: Path) -> bool:
    """True for the one process that creates `<path>.taken` first."""
    try:
        os.close(os.open(f"{path}.taken", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True

"""`anjian worker` whose ledger job holds in its I/O phase until the test lets it go.

For tests of what a job leaves open while it works, and of workers killed mid-job: the real CLI
and rq worker, with one test-only hook. The ledger handler gets an I/O phase: once the row is
claimed, it writes the worker's pid to $HOLD_PIDFILE and waits (no transaction open) until the
file $HOLD_RELEASE exists, 30 s at most; then the entries are recorded as usual.

    python tests/backend/ledger/holding_worker.py worker [--burst]
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backend.jobs.handler import Job
from backend.jobs.table import HANDLERS
from backend.services.outbox import JobKind

HOLD_CAP = 30.0


def _hold(job: Job) -> None:
    with Path(os.environ["HOLD_PIDFILE"]).open("a") as out:
        out.write(f"{os.getpid()}\n")
    release = Path(os.environ["HOLD_RELEASE"])
    deadline = time.monotonic() + HOLD_CAP
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


HANDLERS[JobKind.ledger_entries] = replace(HANDLERS[JobKind.ledger_entries], perform=_hold, batch=1)

if __name__ == "__main__":
    from backend.cli import main

    main()

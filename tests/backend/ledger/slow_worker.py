"""`anjian worker` whose ledger handler stops for a while before its transaction commits.

For tests of workers that race or die mid-job: the real CLI and rq worker, with one test-only
hook. The handler does all its work (the entries are inserted, not committed), writes the work
horse's pid to $LEDGER_TEST_PIDFILE, then sleeps $LEDGER_TEST_PAUSE seconds.

    python tests/backend/ledger/slow_worker.py worker [--burst]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from dataclasses import replace

from sqlalchemy.orm import Session

from backend.jobs.handler import Job
from backend.jobs.table import HANDLERS
from backend.services.outbox import JobKind

_original = HANDLERS[JobKind.ledger_entries]


def _slow(session: Session, job: Job, result: Any) -> None:
    _original.record(session, job, result)
    session.flush()
    pidfile = Path(os.environ["LEDGER_TEST_PIDFILE"])
    with pidfile.open("a") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("LEDGER_TEST_PAUSE", "60")))


HANDLERS[JobKind.ledger_entries] = replace(_original, record=_slow, batch=1)

if __name__ == "__main__":
    from backend.cli import main

    main()

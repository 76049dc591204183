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

from sqlalchemy.orm import Session

from backend.jobs import outbox
from backend.services.review import LEDGER_JOB

_original = outbox.HANDLERS[LEDGER_JOB]


def _slow(session: Session, payload: dict[str, Any]) -> None:
    _original(session, payload)
    session.flush()
    pidfile = Path(os.environ["LEDGER_TEST_PIDFILE"])
    with pidfile.open("a") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("LEDGER_TEST_PAUSE", "60")))


outbox.HANDLERS[LEDGER_JOB] = _slow

if __name__ == "__main__":
    from backend.cli import main

    main()

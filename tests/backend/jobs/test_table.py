"""One table of job kinds and their handlers, and nothing outside backend.jobs that enqueues."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from backend.extensions import Services
from backend.jobs import outbox as jobs
from backend.jobs import runtime
from backend.jobs.table import HANDLERS
from backend.models import OutboxItem
from backend.services.outbox import JobKind
from tests.backend.ledger.support import RecordingDispatcher

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_every_job_kind_has_a_handler_and_every_handler_a_kind() -> None:
    assert set(HANDLERS) == set(JobKind)
    assert all(isinstance(kind, JobKind) for kind in HANDLERS)


def test_a_row_of_a_kind_without_a_handler_fails_and_says_why(live_app: Flask) -> None:
    svc: Services = live_app.extensions["anjian"]
    svc.dispatcher = RecordingDispatcher()
    runtime.bind(svc)
    with svc.db.session() as session:
        row = OutboxItem(kind="test.nobody", key="test.nobody:1", payload={})
        session.add(row)
    with pytest.raises(LookupError, match=r"no handler for job kind 'test\.nobody'"):
        jobs.run(row.id)
    with svc.db.session() as session:
        failed = session.get(OutboxItem, row.id)
        assert failed is not None
        assert (failed.status, failed.attempts, failed.claimed_by) == ("pending", 1, None)
        assert "no handler" in (failed.last_error or "")


def test_a_view_that_imports_backend_jobs_breaks_the_import_contract(tmp_path: Path) -> None:
    """`make lint` runs lint-imports: here on a copy of the source with one view that enqueues
    by itself."""
    for package in ("backend", "sync", "checklists", "media"):
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.yaml", "*.csv", "*.xlsx"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "backend" / "api" / "enqueues.py").write_text(
        "from backend.jobs import outbox\n\n\ndef approve() -> None:\n"
        "    outbox.enqueue(None, [1])  # type: ignore[arg-type]\n"
    )
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0, result.stdout
    assert "Views never know the queue: delivery happens at the commit point BROKEN" in (
        result.stdout
    )
    assert "backend.api.enqueues -> backend.jobs.outbox" in result.stdout

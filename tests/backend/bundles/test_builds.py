"""Bundle builds: the inspection scope, a missing font, the embedded default's worker, access."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import faults
from backend.jobs import outbox as outbox_jobs
from backend.models import Bundle, BundleState, OutboxItem
from backend.services.bundles import summary
from tests.backend.bundles.support import ENTERPRISE, BundleWorld, manifest, members
from tests.backend.ledger.support import RecordingDispatcher
from tests.sync_support import save_args

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")


def test_an_inspection_bundle_has_the_checklist_findings_photos_and_signatures(
    world: BundleWorld,
) -> None:
    loop = world.whole_loop()
    status = world.built("inspection", loop.inspection_id)
    data = world.download(status)
    files = {f["path"]: f for f in manifest(data)["files"]}
    [folder] = {p.split("/")[0] for p in files if "/" in p}
    assert folder.startswith("检查-2026-11-20-")
    assert ENTERPRISE in folder
    assert files[f"{folder}/隐患01/01.jpg"]["sha256"] == loop.before
    site = files[f"{folder}/现场照片/01.jpg"]
    assert (site["caption"], site["item"]) == ("作业现场", "confined_space.3")
    second = files[f"{folder}/现场照片/02.jpg"]
    assert (second["caption"], second["item"]) == ("通风设备", "confined_space.4")
    assert site["sha256"] != second["sha256"]
    assert site["record"] == {
        "type": "inspection",
        "id": str(loop.inspection_id),
        "version": site["record"]["version"],
    }
    assert any(p.startswith(f"{folder}/签名/01-inspector-李检查") for p in files)
    html = members(data)["summary.html"].decode()
    assert "有限空间作业" in html
    assert "检查结果" in html
    assert "审核：通过" in html


def test_without_the_cjk_font_the_bundle_has_the_html_and_says_why_no_pdf(
    world: BundleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = world.whole_loop()
    monkeypatch.setattr(summary, "FONT", "Anjian No Such Font SC")
    status = world.built("hazard", loop.hazard.id)
    assert status["summary"]["pdf"] is False
    assert "Anjian No Such Font SC" in status["summary"]["pdf_skipped"]
    assert "fonts-noto-cjk" in status["summary"]["pdf_skipped"]
    names = set(members(world.download(status)))
    assert "summary.html" in names
    assert "summary.pdf" not in names
    assert manifest(world.download(status))["pdf_skipped"] == status["summary"]["pdf_skipped"]


def test_a_bundle_of_something_that_does_not_exist_or_an_unknown_scope_is_refused(
    world: BundleWorld,
) -> None:
    assert world.ask("hazard", uuid.uuid4()).status_code == 404
    unknown = world.ask("audit", uuid.uuid4())
    assert (unknown.status_code, unknown.json["code"]) == (422, "bundle.unknown_scope")
    # The report scope is a filed 调度表's: an id that is no filing is 404 like any other.
    report = world.ask("report", uuid.uuid4())
    assert (report.status_code, report.json["code"]) == (404, "not_found")
    assert world.count(Bundle) == 0
    assert world.status(str(uuid.uuid4())).json["code"] == "bundle.not_found"


def test_an_expired_or_altered_download_link_is_refused(world: BundleWorld) -> None:
    loop = world.whole_loop()
    url = world.built("hazard", loop.hazard.id)["download"]["url"]
    assert world.client.get(url.replace("signature=", "signature=0")).status_code == 404
    expired = url.split("expires=")[0] + "expires=1&" + url.split("&", 2)[-1]
    assert world.client.get(expired).json["code"] == "bundle.link_expired"


def test_a_vanished_photo_fails_the_bundle_with_the_reason_and_asking_again_retries(
    world: BundleWorld,
) -> None:
    loop = world.whole_loop()
    store = world.app.extensions["anjian"].store
    from media import content_key

    original = store.get(content_key(loop.after[2]))
    store.delete(content_key(loop.after[2]))
    asked = world.ask("hazard", loop.hazard.id)
    world.jobs.run_all()
    failed = world.status(asked.json["id"]).json
    assert failed["state"] == "failed"
    assert "06-复查（合格）/01.jpg" in failed["reason"]
    assert list(store.iter_keys("bundles/")) == []  # no partial ZIP
    store.put(content_key(loop.after[2]), original, content_type="image/jpeg")
    again = world.ask("hazard", loop.hazard.id)
    assert (again.json["id"], again.json["state"]) == (asked.json["id"], "queued")
    world.jobs.run_all()
    assert world.status(asked.json["id"]).json["state"] == "ready"


# -- the embedded default: a build holds no lock a tablet push waits for -----------------------

REACH_TIMEOUT = 120.0  # seconds for the build to reach its fault point (a guard, not a measure)


@pytest.mark.parametrize("live_engine", ["sqlite", "postgres"], indirect=True)
def test_a_tablet_push_completes_while_a_bundle_builds(
    live_app: Flask, live_session: Session, tmp_path: Path
) -> None:
    """The build is held at `bundle.packing` (backend/faults.py: its photos streamed into the
    open ZIP) while a tablet pushes: the push is applied while the build provably has not
    finished, so it waited for nothing the build holds. How long a push takes during a build
    is measured by bench/bundle_push.py, not here."""
    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = BundleWorld(live_app, live_app.test_client(), live_session)
    loop = world.whole_loop()
    asked = world.ask("hazard", loop.hazard.id)
    assert asked.status_code == 202
    [(func, args, _)] = world.jobs.jobs
    world.jobs.jobs.clear()
    assert func == "backend.jobs.outbox.run"
    fifo = tmp_path / "fault"
    os.mkfifo(fifo)
    faults.arm(("bundle.packing", fifo))
    worker = threading.Thread(target=outbox_jobs.run, args=args)  # what the in-process worker does
    worker.start()
    try:
        assert _wait_reached(fifo, worker) == "bundle.packing"
        args_ = save_args(live_session, world.enterprise.id)
        live_session.commit()
        reply = world.tablet.push(world.tablet.command("inspection.save@1", args_))
        assert reply.json["results"][0]["status"] == "applied", reply.json
        # Still held at the fault point: the push did not wait for the build to end.
        assert worker.is_alive()
        assert _state(world, asked.json["id"]) == "building"
    finally:
        faults.arm(None)
        _release(fifo, worker)
        worker.join(120)
    assert not worker.is_alive()
    assert _state(world, asked.json["id"]) == "ready"
    item = live_session.scalars(select(OutboxItem).where(OutboxItem.id == args[0])).one()
    live_session.refresh(item)
    assert item.status == "done"


def _wait_reached(fifo: Path, worker: threading.Thread) -> str:
    """The point the build names on the FIFO once it stops there."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the build's open for writing through
    try:
        said = b""
        deadline = time.monotonic() + REACH_TIMEOUT
        while not said.endswith(b"\n"):
            assert worker.is_alive(), "the build ended before its fault point"
            assert time.monotonic() < deadline, f"no fault point reached in {REACH_TIMEOUT} s"
            with contextlib.suppress(BlockingIOError):
                said += os.read(fd, 100)
            time.sleep(0.01)
        return said.decode().split()[0]  # "<point> <pid>"
    finally:
        os.close(fd)


def _release(fifo: Path, worker: threading.Thread) -> None:
    """Let the build go on from its fault point (once it waits there to read; never blocks)."""
    deadline = time.monotonic() + REACH_TIMEOUT
    while worker.is_alive():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until the build reads
        except OSError:
            assert time.monotonic() < deadline, "the build never waited at its fault point"
            time.sleep(0.01)
            continue
        os.write(fd, b"go\n")
        os.close(fd)
        return


def _state(world: BundleWorld, bundle_id: str) -> str:
    world.session.expire_all()
    row = world.session.get(Bundle, uuid.UUID(bundle_id))
    world.session.commit()
    assert row is not None
    return BundleState(row.state).value


def test_a_bundle_another_worker_holds_keeps_its_outbox_row_pending(world: BundleWorld) -> None:
    from datetime import timedelta

    from backend.models import utcnow

    loop = world.whole_loop()
    asked = world.ask("hazard", loop.hazard.id)
    row = world.session.get(Bundle, uuid.UUID(asked.json["id"]))
    assert row is not None
    row.state, row.lease_until = BundleState.building, utcnow() + timedelta(minutes=5)
    world.session.commit()
    [(_func, args, _)] = world.jobs.jobs
    world.jobs.jobs.clear()
    with pytest.raises(Exception, match="another worker"):
        outbox_jobs.run(*args)
    item = world.session.get(OutboxItem, args[0])
    assert item is not None
    world.session.refresh(item)
    assert item.status == "pending"
    row.lease_until = utcnow() - timedelta(seconds=1)  # the holder died; its lease lapsed
    world.session.commit()
    assert outbox_jobs.run(*args) == "done"
    assert world.status(asked.json["id"]).json["state"] == "ready"

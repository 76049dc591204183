"""Building the same bundle twice gives the same SHA-256 (issue 14): built again from nothing
(its row and its ZIP deleted, so nothing is reused), in this process and in two processes of
different hash seeds, every scope gives the same bytes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy.orm import Session

from backend.models import Bundle
from media import content_key
from tests.backend.bundles.support import BundleWorld, manifest, members
from tests.backend.bundles.test_report_bundle import document, file_report, penalty
from tests.backend.ledger.support import RecordingDispatcher
from tests.backend.records.test_documents import pdf

ANJIAN = str(Path(sys.executable).with_name("anjian"))  # the console script of this venv
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")


def forget(world: BundleWorld, bundle_id: str) -> None:
    """Delete the stored bundle, its row and its ZIP: the next request builds it anew."""
    store = world.app.extensions["anjian"].store
    row = world.session.get_one(Bundle, uuid.UUID(bundle_id))
    assert row.key is not None
    store.delete(row.key)
    world.session.delete(row)
    world.session.commit()


def rebuilt(world: BundleWorld, scope: str, subject: uuid.UUID, first: dict[str, Any]) -> bytes:
    """The bundle ``first`` built again from nothing; asserts the same SHA-256 (naming the
    members that differ otherwise)."""
    before = world.download(first)
    forget(world, first["id"])
    again = world.built(scope, subject)
    assert again["id"] != first["id"]  # a new row, a new build: nothing reused
    data = world.download(again)
    assert again["sha256"] == first["sha256"], differing(before, data)
    return data


def differing(one: bytes, other: bytes) -> list[str]:
    a, b = members(one), members(other)
    return sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))


def pictures(data: bytes) -> set[bytes]:
    """The distinct images drawn in summary.pdf (so a summary without its thumbnails, which
    would be reproducible too, does not pass)."""
    reader = PdfReader(io.BytesIO(members(data)["summary.pdf"]))
    return {image.data for page in reader.pages for image in page.images}


def test_a_report_bundle_built_again_from_scratch_is_byte_identical(world: BundleWorld) -> None:
    loop = world.whole_loop()
    penalty(world, loop.hazard.id, document(world, pdf(pages=2)), world.photo())
    subject = uuid.UUID(file_report(world)["id"])
    first = world.built("report", subject)
    data = world.download(first)
    assert rebuilt(world, "report", subject, first) == data
    photos = {f["sha256"] for f in manifest(data)["files"] if f["path"].endswith(".jpg")}
    assert len(pictures(data)) == len(photos) > 1


@pytest.mark.parametrize("scope", ["inspection", "hazard"])
def test_an_inspection_or_hazard_bundle_built_again_from_scratch_is_byte_identical(
    world: BundleWorld, scope: str
) -> None:
    loop = world.whole_loop()
    subject = loop.inspection_id if scope == "inspection" else loop.hazard.id
    first = world.built(scope, subject)
    data = world.download(first)
    assert rebuilt(world, scope, subject, first) == data
    assert len(pictures(data)) > 1


def test_a_bundle_built_before_its_thumbnails_were_made_is_the_one_built_after(
    world: BundleWorld,
) -> None:
    """summary.pdf shows thumbnails; one whose job has not run yet is made from the original
    the way that job makes it, so when the job ran changes nothing."""
    loop = world.whole_loop()
    first = world.built("hazard", loop.hazard.id)
    data = world.download(first)
    store = world.app.extensions["anjian"].store
    photos = {f["sha256"] for f in manifest(data)["files"] if f["path"].endswith(".jpg")}
    for sha in photos:
        assert store.size(content_key(sha, "thumbnail"))
        store.delete(content_key(sha, "thumbnail"))
    assert rebuilt(world, "hazard", loop.hazard.id, first) == data
    assert len(pictures(data)) == len(photos)


@pytest.mark.parametrize("live_engine", ["sqlite"], indirect=True)
def test_two_processes_of_different_hash_seeds_build_the_same_bundle(
    live_app: Flask, live_session: Session, tmp_path: Path
) -> None:
    """`anjian bundles build` in a process of its own, twice, PYTHONHASHSEED 1 then 2: a set
    or dict iterated in hash order anywhere (plan, summary, manifest) would show here."""
    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = BundleWorld(live_app, live_app.test_client(), live_session)
    loop = world.whole_loop()
    penalty(world, loop.hazard.id, document(world, pdf()), world.photo())
    filing = file_report(world)
    config = live_app.extensions["anjian"].config
    env = {
        **os.environ,
        "ANJIAN_ENV": "test",
        "ANJIAN_DATA_DIR": str(tmp_path),
        "DATABASE_URL": config.database_url,
        "SECRET_KEY": "t" * 40,
    }
    env.pop("REDIS_URL", None)
    env.pop("S3_BUCKET", None)
    # The hazard's bundle holds its inspection's record too.
    for scope, subject in [("report", filing["id"]), ("hazard", str(loop.hazard.id))]:
        built = []
        for seed in ("1", "2"):
            out = tmp_path / f"{scope}-{seed}.zip"
            command = [ANJIAN, "bundles", "build", scope, subject]
            done = subprocess.run(
                [*command, "--output", str(out)],
                env={**env, "PYTHONHASHSEED": seed},
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "\tbuilt\t" in done.stdout, done.stdout  # not the stored one: built here
            [line] = [x for x in done.stdout.splitlines() if "\tbuilt\t" in x]
            bundle_id, sha256 = line.split("\t")[0], line.split("sha256 ")[1]
            built.append((sha256, out.read_bytes()))
            forget(world, bundle_id)
        assert built[0][0] == built[1][0], (scope, differing(built[0][1], built[1][1]))

"""A real server and a real Chromium for the console's browser tests.

The database is seeded in this process the way the tablets and the API fill it (the ledger
tests' World: a district, a town, its people, a tablet pushing an inspection with the
acceptance findings; photos with EXIF uploaded through the media API). Then `anjian run` serves
that database on a free loopback port (tests/support/server.py) and Debian's chromium, driven
by Playwright, works through the console like a supervisor.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.db import make_engine
from backend.models import Hazard
from tests.backend.ledger.support import World, problem_answers, two_findings
from tests.conftest import CI, make_config, unavailable
from tests.factories import PASSWORD
from tests.media.images_support import dms, exif
from tests.support.server import ApiServer

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# As root, in a container, on a machine with no GPU and no need to phone home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 768}
# Tablets the way inspectors' 10-inch ones report themselves to a page, both ways round.
TABLETS = {
    "portrait": {"width": 768, "height": 1024},
    "landscape": {"width": 1024, "height": 768},
}
CJK = re.compile(r"[\u4e00-\u9fff]")
WRITTEN: list[Path] = []  # screenshots of this run, listed at the end (tests/console/conftest.py)


def screenshot_dir() -> Path:
    root = Path(os.environ.get("CONSOLE_SCREENSHOTS", "var/screenshots/console")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def require_chromium() -> None:
    if not CHROMIUM.exists():
        reason = (
            f"no Chromium at {CHROMIUM}: apt-get install --no-install-recommends chromium "
            "fonts-noto-cjk (.ci/run does)"
        )
        if CI:
            pytest.fail(reason + " (CI=true: browser tests may not skip)")
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[dev]'")


def photo_bytes(label: str, *, taken: str, gps: bool = True, colour: str = "#4a7") -> bytes:
    """A JPEG as a phone writes it: EXIF capture time (China time) and, if asked, position."""
    image = Image.new("RGB", (640, 480), colour)
    ImageDraw.Draw(image).rectangle((40, 40, 600, 440), outline="white", width=8)
    data = exif(
        taken=taken,
        offset="+08:00",
        latitude=("N", dms(26, 4, 12.0)) if gps else None,
        longitude=("E", dms(119, 18, 0.0)) if gps else None,
        make="HUAWEI",
        model=label,
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=data.tobytes())
    return buffer.getvalue()


def signature_bytes() -> bytes:
    image = Image.new("RGB", (400, 160), "white")
    ImageDraw.Draw(image).line((20, 120, 120, 40, 220, 110, 380, 50), fill="black", width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Seeded:
    inspection_id: str
    major_finding: str
    general_finding: str
    supervisor: str
    inspector: str
    admin: str
    stranger: str
    inspector_id: str
    enterprise: str
    # A second record of the same case, for the clause choice (approved by its own test).
    clause_inspection_id: str = ""
    clause_major_finding: str = ""
    clause_general_finding: str = ""
    # A third record, approved with one general finding while seeding: its hazard is in the
    # ledger whichever test runs first (the tablet test opens it).
    general_hazard_id: str = ""
    # A fourth, left pending by every test: the tablet test sees its decision form.
    pending_inspection_id: str = ""
    password: str = PASSWORD
    photos: list[str] = field(default_factory=list)


def _upload(world: World, data: bytes, content_type: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    reply = world.client.put(
        f"/api/v1/media/{sha}",
        data=data,
        headers={**world.headers(world.inspector), "Content-Type": content_type},
    )
    assert reply.status_code == 200, reply.json
    return sha


def seed(database_url: str, data_dir: Path) -> Seeded:
    app = create_app(make_config(data_dir, database_url))
    app.config["TESTING"] = True
    engine = app.extensions["anjian"].db.engine
    try:
        with Session(engine, expire_on_commit=False) as session:
            world = World(app, app.test_client(), session)
            in_time = photo_bytes("P40", taken="2026:11:20 09:40:00")
            late = photo_bytes("P40", taken="2026:11:23 18:10:00", gps=False, colour="#a74")
            signature = signature_bytes()
            hashes = [hashlib.sha256(d).hexdigest() for d in (in_time, late, signature)]
            findings = two_findings()
            findings[0]["photos"] = [hashes[0]]
            submitted = world.submit(
                answers=problem_answers(),
                findings=findings,
                photos=[
                    {"sha256": hashes[0], "item": "confined_space.1", "caption": "入口无警示标志"},
                    {"sha256": hashes[1], "item": "confined_space.2", "caption": "合同页"},
                ],
                signatures=[{"role": "inspector", "name": "李检查", "sha256": hashes[2]}],
            )
            second = world.submit(
                answers=problem_answers(),
                findings=two_findings(),
                signatures=[{"role": "inspector", "name": "李检查", "sha256": hashes[2]}],
            )
            only_the_contract = problem_answers() | {f"confined_space.1.{c}": "yes" for c in "abc"}
            third = world.submit(
                answers=only_the_contract,
                findings=two_findings()[1:],
                signatures=[{"role": "inspector", "name": "李检查", "sha256": hashes[2]}],
            )
            approved = world.review(
                third.id,
                {
                    "decision": "approve",
                    "comment": "同意",
                    "findings": [{"id": str(third.major_finding), "level": "general"}],
                },
            )
            assert approved.status_code == 200, approved.json
            pending = world.submit(
                answers=problem_answers(),
                findings=two_findings(),
                signatures=[{"role": "inspector", "name": "李检查", "sha256": hashes[2]}],
            )
            for data, kind in (
                (in_time, "image/jpeg"),
                (late, "image/jpeg"),
                (signature, "image/png"),
            ):
                _upload(world, data, kind)
            seeded = Seeded(
                inspection_id=str(submitted.id),
                major_finding=str(submitted.major_finding),
                general_finding=str(submitted.general_finding),
                supervisor=world.supervisor.username,
                inspector=world.inspector.username,
                admin=world.admin.username,
                stranger=world.stranger.username,
                inspector_id=str(world.inspector.id),
                enterprise=world.enterprise.name,
                clause_inspection_id=str(second.id),
                clause_major_finding=str(second.major_finding),
                clause_general_finding=str(second.general_finding),
                pending_inspection_id=str(pending.id),
                photos=hashes,
            )
        dispatcher: Any = app.extensions["anjian"].dispatcher
        if hasattr(dispatcher, "join"):
            dispatcher.join()  # thumbnails and the ledger entry made before the server starts
        with Session(engine) as session:
            hazard = session.scalars(
                select(Hazard.id).where(Hazard.inspection_id == third.id)
            ).one()
            seeded.general_hazard_id = str(hazard)
    finally:
        app.extensions["anjian"].db.dispose()
    return seeded


@dataclass
class Site:
    server: ApiServer
    seeded: Seeded

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def url(self, path: str) -> str:
        return self.base_url + path


def start_site(template: Path, root: Path) -> Iterator[Site]:
    database = root / "console.sqlite3"
    shutil.copyfile(template, database)
    url = f"sqlite:///{database}"
    make_engine(url).dispose()
    seeded = seed(url, root)
    server = ApiServer(url, root)
    server.start()
    try:
        yield Site(server, seeded)
    finally:
        server.stop()


class Pages:
    """One browser page and the console errors it has logged, checked after every visit."""

    def __init__(self, page: Any, site: Site, shots: Path) -> None:
        self.page, self.site, self.shots = page, site, shots
        self.errors: list[str] = []
        self.unchecked: list[str] = []  # pages navigated to and not yet checked
        self.address = ""
        page.on("console", self._console)
        page.on("framenavigated", self._navigated)
        page.on("domcontentloaded", lambda _page: self._unchecked(page.url))  # reloads too
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _navigated(self, frame: Any) -> None:
        # A new address (a load, or htmx pushing one). htmx re-states the current address
        # before it pushes: the same page, not a new one.
        if frame == self.page.main_frame:
            if frame.url != self.address:
                self._unchecked(frame.url)
            self.address = frame.url

    def _unchecked(self, url: str) -> None:
        if not self.unchecked or self.unchecked[-1] != url:
            self.unchecked.append(url)

    def finish(self) -> None:
        """Every page this one went to was checked (a heading, no console errors)."""
        assert not self.unchecked, f"never checked: {self.unchecked}"
        assert not self.errors, self.errors

    def goto(self, path: str) -> None:
        self.page.goto(self.site.url(path))
        self.page.wait_for_load_state("networkidle")

    def check(self, heading: str, shot: str | None = None) -> None:
        """A visible Chinese heading, no console errors so far; and a screenshot if named."""
        h1 = self.page.locator("h1").first
        h1.wait_for(state="visible")
        text = h1.inner_text()
        assert CJK.search(text), f"heading {text!r} has no Chinese"
        assert heading in text, f"expected heading with {heading!r}, got {text!r}"
        assert self.page.locator("html").get_attribute("lang") == "zh-CN"
        self.page.wait_for_load_state("networkidle")
        assert not self.errors, self.errors
        assert not self.unchecked[:-1], f"left without being checked: {self.unchecked[:-1]}"
        self.unchecked.clear()
        if shot:
            path = self.shots / f"{shot}.png"
            self.page.screenshot(path=str(path), full_page=True)
            WRITTEN.append(path)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

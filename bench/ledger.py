"""How long an approval takes, and how long until its ledger entries are visible.

On a fresh PostgreSQL database (created here, dropped at the end) and a Redis database of its
own (flushed), with WORKERS real ``anjian worker`` processes running:

* rq: ROUNDTRIPS empty jobs (``os.getpid``) enqueued one at a time on the workers' queue, each
  timed from enqueue to its result being readable: the bare cost of one rq job here; then as
  many enqueued at once, timed until the last result: the empty-job rate of these workers.
* approve: INSPECTIONS submitted inspections with 3 findings each (one major by 第十三条（一）,
  two general), pushed first through the tablet protocol, then approved one after another (or
  RATE a second) by a supervisor through POST /api/v1/inspections/{id}/review of the real app
  (Flask's test client: in-process WSGI, no HTTP server; the app enqueues on the real Redis
  after commit).
  Approval latency is the request's wall time. A poller thread (its own connection, every
  POLL seconds) notes when each inspection's entries are first visible to another
  transaction; approval → visible is measured from the end of the approval request.

* drain: BACKLOG more inspections approved while their outbox rows are held back (the app's
  dispatcher keeps them), then all handed to rq at once; timed until every entry is visible:
  the rate the workers turn a backlog into entries, beside the empty-job rate.

At the end the run checks that every confirmed finding has exactly one entry and every outbox
row is done.

    .venv/bin/python -m bench.ledger [--inspections 1000 --workers 2 --roundtrips 200 --rate 0
                                      --backlog 300]

(`-m` from the repository root: run as a script, bench/ would shadow the `media` package.)

BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) names the server; BENCH_REDIS_URL the Redis database
(default redis://127.0.0.1:6379/12).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import checklists
from backend import migrate
from backend.db import make_engine
from backend.jobs import outbox as outbox_jobs
from backend.jobs.runtime import QUEUE
from backend.models import ChecklistVersion, FindingConfirmation, Hazard, OutboxItem, Role, UnitKind
from backend.services import checklists as checklist_service
from backend.services import enterprises, organisation
from bench.support import PASSWORD, fresh_database, login, make_app

ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PUSH_INSPECTIONS = 100  # save + submit each: 200 commands, the most one push may carry
POLL = 0.005
WAIT = 600.0
ANJIAN = Path(sys.executable).with_name("anjian")


@dataclass
class Run:
    rq_ms: list[float] = field(default_factory=list)
    approve_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)
    approvals_s: float = 0.0
    all_visible_s: float = 0.0
    empty_jobs_s: float = 0.0  # empty rq jobs a second, enqueued at once
    drain_s: float = 0.0  # the backlog's entries, from hand-over to all visible


# --- the database and the people -----------------------------------------------------------------


def prepare(engine: Engine) -> uuid.UUID:
    """Migrate, publish the checklists, and create the people; the enterprise's id."""
    migrate.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        checklist_service.publish(session, checklists.load_directory())
        district = organisation.create_unit(
            session, None, name="基准区", kind=UnitKind.district, parent=None
        )
        town = organisation.create_unit(
            session, None, name="基准镇", kind=UnitKind.town, parent=district
        )
        for username, role in (
            ("bench_inspector", Role.inspector),
            ("bench_supervisor", Role.supervisor),
        ):
            organisation.create_user(
                session,
                None,
                username=username,
                display_name=username,
                password=PASSWORD,
                role=role,
                unit=town,
            )
        enterprise = enterprises.create(
            session, None, town, {"name": "基准有限空间企业", "sector": "confined_space"}
        )
        session.commit()
        return enterprise.id


# --- the inspections -----------------------------------------------------------------------------


def answers() -> list[dict[str, Any]]:
    given = {f"confined_space.{n}": "yes" for n in range(4, 8)}
    given.update(
        {
            "confined_space.1.a": "no",
            "confined_space.1.b": "no",
            "confined_space.1.c": "no",
            "confined_space.1.d": "yes",
            "confined_space.1.e": "no",
            "confined_space.1.f": "yes",
            "confined_space.2": "no",
            "confined_space.3": "no",
            "confined_space.poisoning_risk": "yes",  # 第十三条's lead-in (version 2023.2)
        }
    )
    return [{"item": k, "answer": v, "note": None} for k, v in given.items()]


def inspection(enterprise_id: uuid.UUID, version: str) -> dict[str, Any]:
    def finding(item: str, level: str, text_: str) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "items": [item],
            "description": text_,
            "requirement": "限期整改",
            "deadline": "2026-12-31",
            "claimed_level": level,
            "photos": [],
        }

    return {
        "id": str(uuid.uuid4()),
        "checklist": {"code": "confined_space", "version": version},
        "enterprise_id": str(enterprise_id),
        "kind": "department_inspection",
        "started_at": "2026-11-20T09:00:00+08:00",
        "finished_at": "2026-11-20T10:30:00+08:00",
        "inspectors": [{"name": "李检查"}],
        "answers": answers(),
        "findings": [
            finding(
                "confined_space.1",
                "major",
                "未对有限空间进行辨识、建立安全管理台账，并且未设置明显的安全警示标志",
            ),
            finding("confined_space.2", "general", "有限空间作业合同未送主管部门备查"),
            finding("confined_space.3", "general", "未建立作业队伍和人员台账"),
        ],
        "photos": [],
        "signatures": [{"role": "inspector", "name": "李检查", "sha256": uuid.uuid4().hex * 2}],
    }


def submit_all(
    client: FlaskClient, engine: Engine, enterprise_id: uuid.UUID, count: int
) -> list[dict[str, Any]]:
    headers = login(client, "bench_inspector")
    device_id = str(uuid.uuid4())
    assert (
        client.post(
            "/api/v1/sync/devices", headers=headers, json={"device_id": device_id}
        ).status_code
        == 200
    )
    with Session(engine) as session:
        version = session.scalars(  # the latest version (2023.2: 7(c) split, 中毒风险)
            select(ChecklistVersion.version)
            .where(ChecklistVersion.checklist_code == "confined_space")
            .order_by(ChecklistVersion.id.desc())
            .limit(1)
        ).one()
    made, seq = [], 0
    for start in range(0, count, PUSH_INSPECTIONS):
        mutations = []
        for _ in range(min(PUSH_INSPECTIONS, count - start)):
            args = inspection(enterprise_id, version)
            made.append(args)
            for name, body in (
                ("inspection.save@1", args),
                ("inspection.submit@1", {"id": args["id"]}),
            ):
                seq += 1
                mutations.append({"seq": seq, "id": str(uuid.uuid4()), "name": name, "args": body})
        reply = client.post(
            "/api/v1/sync/push",
            headers=headers,
            json={"device_id": device_id, "protocol": 1, "mutations": mutations},
        )
        statuses = {r["status"] for r in reply.json["results"]}
        if statuses != {"applied"}:
            sys.exit(f"push not applied: {reply.json['results'][:2]}")
    return made


# --- workers and rq ------------------------------------------------------------------------------


class Workers:
    def __init__(self, database_url: str, data_dir: Path, count: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            ANJIAN_ENV="test",
            ANJIAN_DATA_DIR=str(data_dir),
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            SECRET_KEY="b" * 40,
            LOG_LEVEL="WARNING",
        )
        self.processes = []
        for n in range(count):
            with (data_dir / f"worker-{n}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [str(ANJIAN), "worker"], stdout=log, stderr=subprocess.STDOUT, env=env
                    )
                )
        queue = self.queue()
        deadline = time.monotonic() + 60
        while len(Worker.all(queue=queue)) < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                sys.exit("the workers did not start; see worker-*.log")
            time.sleep(0.1)

    @staticmethod
    def queue() -> Queue:
        return Queue(QUEUE, connection=Redis.from_url(REDIS_URL), serializer=JSONSerializer)

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def rq_roundtrips(count: int) -> list[float]:
    queue = Workers.queue()
    times = []
    for n in range(count):
        started = time.perf_counter()
        job = queue.enqueue("os.getpid", job_id=f"bench-empty-{n}-{uuid.uuid4().hex[:6]}")
        if job.latest_result(timeout=30) is None:
            sys.exit("an empty rq job did not finish in 30 s")
        times.append((time.perf_counter() - started) * 1000)
    return times


def rq_rate(count: int) -> float:
    """Empty jobs a second: `count` enqueued at once, until the last result is readable."""
    queue = Workers.queue()
    tag = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    jobs = [queue.enqueue("os.getpid", job_id=f"bench-burst-{tag}-{n}") for n in range(count)]
    for job in jobs:
        if job.latest_result(timeout=60) is None:
            sys.exit("an empty rq job did not finish in 60 s")
    return count / (time.perf_counter() - started)


class Holding:
    """A dispatcher that keeps what it is given: the backlog, handed to rq later at once."""

    def __init__(self) -> None:
        self.held: list[int] = []

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        self.held.append(args[0])

    def check(self) -> None:
        """Nothing to reach."""

    def withdraw(self, job_ids: list[str]) -> None:
        """Nothing runs here."""


# --- approvals -----------------------------------------------------------------------------------


class Poller(threading.Thread):
    """Notes when each approved inspection's entries become visible (a transaction of its own
    per look, so it sees what others committed)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.waiting: dict[uuid.UUID, float] = {}  # inspection id -> approval finished
        self.visible: dict[uuid.UUID, float] = {}  # inspection id -> first seen
        self.lock = threading.Lock()
        self.done = threading.Event()

    def expect(self, inspection_id: uuid.UUID, approved_at: float) -> None:
        with self.lock:
            self.waiting[inspection_id] = approved_at

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.done.is_set():
                with self.lock:
                    ids = list(self.waiting)
                if ids:
                    rows = conn.execute(
                        select(Hazard.inspection_id).where(Hazard.inspection_id.in_(ids)).distinct()
                    ).scalars()
                    seen = time.perf_counter()
                    with self.lock:
                        for inspection_id in rows:
                            self.visible[inspection_id] = seen - self.waiting.pop(inspection_id)
                    conn.rollback()
                time.sleep(POLL)


def approve_all(
    client: FlaskClient, made: list[dict[str, Any]], poller: Poller, run: Run, rate: float
) -> None:
    headers = login(client, "bench_supervisor")
    started = time.perf_counter()
    for n, args in enumerate(made):
        if rate:  # one approval every 1/rate seconds, as supervisors would send them
            time.sleep(max(0.0, started + n / rate - time.perf_counter()))
        body = approve_body(args)
        t0 = time.perf_counter()
        reply = client.post(f"/api/v1/inspections/{args['id']}/review", headers=headers, json=body)
        t1 = time.perf_counter()
        if reply.status_code != 200:
            sys.exit(f"approval failed: {reply.status_code} {reply.json}")
        poller.expect(uuid.UUID(args["id"]), t1)
        run.approve_ms.append((t1 - t0) * 1000)
    run.approvals_s = time.perf_counter() - started
    deadline = time.monotonic() + WAIT
    while True:
        with poller.lock:
            if not poller.waiting:
                break
        if time.monotonic() > deadline:
            sys.exit(f"{len(poller.waiting)} approvals never reached the ledger")
        time.sleep(0.05)
    run.all_visible_s = time.perf_counter() - started
    run.visible_ms = [v * 1000 for v in poller.visible.values()]


def approve_body(args: dict[str, Any]) -> dict[str, Any]:
    levels = ("major", "general", "general")
    return {
        "decision": "approve",
        "findings": [
            {"id": finding["id"], "level": level}
            for finding, level in zip(args["findings"], levels, strict=True)
        ],
    }


def drain(client: FlaskClient, engine: Engine, backlog: list[dict[str, Any]], run: Run) -> None:
    """Approve the backlog with its outbox rows held back, hand them all to rq, and time until
    every entry is visible."""
    svc = client.application.extensions["anjian"]
    real, holding = svc.dispatcher, Holding()
    svc.dispatcher = holding
    headers = login(client, "bench_supervisor")
    for args in backlog:
        reply = client.post(
            f"/api/v1/inspections/{args['id']}/review", headers=headers, json=approve_body(args)
        )
        if reply.status_code != 200:
            sys.exit(f"approval failed: {reply.status_code} {reply.json}")
    svc.dispatcher = real
    with Session(engine) as session:
        before = session.scalar(select(func.count()).select_from(Hazard)) or 0
    target = before + 3 * len(backlog)
    started = time.perf_counter()
    outbox_jobs.enqueue(svc, holding.held)
    deadline = time.monotonic() + WAIT
    with engine.connect() as conn:
        while (conn.scalar(select(func.count()).select_from(Hazard)) or 0) < target:
            conn.rollback()
            if time.monotonic() > deadline:
                sys.exit("the backlog never reached the ledger")
            time.sleep(POLL)
    run.drain_s = time.perf_counter() - started


def check(engine: Engine, inspections: int) -> str:
    with Session(engine) as session:
        entries = session.scalar(select(func.count()).select_from(Hazard)) or 0
        confirmed = session.scalar(select(func.count()).select_from(FindingConfirmation)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Hazard.finding_id)))) or 0
        numbers = session.scalar(select(func.count(func.distinct(Hazard.number)))) or 0
        pending = session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.status != "done")
        )
    assert entries == confirmed == distinct == numbers == inspections * 3, (entries, confirmed)
    assert pending == 0
    return f"{entries} entries for {confirmed} confirmed findings, all distinct; outbox all done"


# --- report --------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} n={len(values):>5}  p50 {percentile(values, 50):8.1f} ms  "
        f"p95 {percentile(values, 95):8.1f} ms  mean {statistics.fmean(values):8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inspections", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--roundtrips", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=300, help="inspections in the drain")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="approvals per second (default 0: one after another, as fast as they go)",
    )
    args = parser.parse_args()
    Redis.from_url(REDIS_URL).flushdb()
    run = Run()
    with fresh_database(ADMIN_URL) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        enterprise_id = prepare(engine)
        app = make_app(url, Path(tmp), REDIS_URL=REDIS_URL)
        client = app.test_client()
        made = submit_all(client, engine, enterprise_id, args.inspections + args.backlog)
        workers = Workers(url, Path(tmp), args.workers)
        poller = Poller(engine)
        try:
            run.rq_ms = rq_roundtrips(args.roundtrips)
            run.empty_jobs_s = rq_rate(args.roundtrips)
            poller.start()
            approve_all(client, made[: args.inspections], poller, run, args.rate)
            poller.done.set()
            if args.backlog:
                drain(client, engine, made[args.inspections :], run)
        finally:
            poller.done.set()
            workers.stop()
        verdict = check(engine, args.inspections + args.backlog)
        app.extensions["anjian"].db.dispose()
        engine.dispose()
    Redis.from_url(REDIS_URL).flushdb()
    pace = f"{args.rate:g}/s" if args.rate else "back to back"
    print(
        f"PostgreSQL + Redis, {args.workers} `anjian worker` processes, {os.cpu_count()} CPUs; "
        f"approvals {pace}"
    )
    print(line("rq round trip, empty job", run.rq_ms))
    print(line("approval (POST .../review)", run.approve_ms))
    print(line("approval -> ledger entries visible", run.visible_ms))
    print(
        f"{args.inspections} approvals in {run.approvals_s:.1f} s "
        f"({args.inspections / run.approvals_s:.0f}/s); all entries visible after "
        f"{run.all_visible_s:.1f} s ({args.inspections * 3 / run.all_visible_s:.0f} entries/s)"
    )
    if args.backlog:
        print(
            f"drain: {args.backlog} approvals' rows handed over at once, {args.backlog * 3} "
            f"entries in {run.drain_s:.2f} s = {args.backlog * 3 / run.drain_s:.0f} entries/s "
            f"({args.backlog / run.drain_s:.0f} outbox rows/s); empty rq jobs enqueued at once: "
            f"{run.empty_jobs_s:.0f} jobs/s"
        )
    print(verdict)


if __name__ == "__main__":
    main()

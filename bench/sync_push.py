"""How fast the tablet protocol stores inspections, against a bare PostgreSQL upsert, and pulls.

On a fresh PostgreSQL database (created here, dropped at the end) with the shipped checklists and
a synthetic benchmark checklist of at least 40 items, this times:

* push: PUSHES pushes of COMMANDS ``inspection.save@1`` commands each, every command a new
  inspection with ANSWERS answers and FINDINGS findings, through POST /api/v1/sync/push of the
  real app. Requests go through Flask's test client (in-process WSGI, no network, no HTTP
  server); bodies are serialised before the clock starts, as a tablet would have them ready.
* raw: the same answer rows (PUSHES x COMMANDS x ANSWERS) in one SQLAlchemy Core executemany
  ``INSERT ... ON CONFLICT DO UPDATE`` into a table with the columns and primary key of
  ``inspection_answers`` but no foreign keys: the most the database does for the answers alone.
* pull: one device pulling a bucket of PULL_CHANGES change rows through POST /api/v1/sync/pull
  with limit 2000 until has_more is false.

Push and raw run ROUNDS times each, interleaved (the order alternates each round), and the best
of each is reported. The target is push >= 50% of raw, in answers per second.

    .venv/bin/python bench/sync_push.py [--pushes 100 --commands 50 --answers 40 --findings 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Column, Engine, MetaData, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

import checklists
from backend import migrate
from backend.db import make_engine
from backend.models import Change, InspectionAnswer, Role, Unit, UnitKind, User
from backend.services import changelog as changes
from backend.services import checklists as checklist_service
from backend.services import enterprises, organisation
from backend.services.sync import devices
from bench.support import PASSWORD, fresh_database, login, make_app

ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
BENCH_CODE, BENCH_LABEL = "bench", "2026"
TARGET_RATIO = 0.50
MIN_ITEMS = 40
PULL_LIMIT = 2000
RECORD_BATCH = 10_000


@dataclass(frozen=True)
class World:
    """What the pushes need: who pushes, from which tablet, about which enterprise."""

    headers: dict[str, str]
    device_id: uuid.UUID
    enterprise_id: uuid.UUID
    version: str


@dataclass(frozen=True)
class Workload:
    """One round of pushes, ready to send, and the answer rows they carry."""

    bodies: list[bytes]
    answer_rows: list[dict[str, Any]]


# --- the database --------------------------------------------------------------------------------


def bench_checklist(items: int, directory: Path) -> checklists.ChecklistVersion:
    """A synthetic version with `items` answerable items and two rules, through the loader."""
    lines = [
        f'code = "{BENCH_CODE}"',
        f'label = "{BENCH_LABEL}"',
        'title = "基准测试检查事项清单"',
        'sector = "other"',
        'attachment = "附件0"',
        "",
        "[source]",
        'title = "基准测试"',
        'number = "基准〔2026〕1号"',
        'issuer = "基准测试局"',
    ]
    for n in range(1, items + 1):
        lines += [
            "",
            "[[items]]",
            f'code = "{BENCH_CODE}.{n}"',
            f'seq = "{n}"',
            'category = "基准测试"',
            f'text = "是否落实第{n}项安全措施"',
            'defect_answer = "no"',
            'polarity_reason = "Asks 是否…: 否 = the measure is missing."',
        ]
    for n, expr in (
        (1, f'any = ["{BENCH_CODE}.1"]'),
        (2, f'all = ["{BENCH_CODE}.2", "{BENCH_CODE}.3"]'),
    ):
        lines += [
            "",
            "[[rules]]",
            f'code = "{BENCH_CODE}.rule.{n}"',
            'text = "未落实安全措施的"',
            "[rules.expr]",
            expr,
            "",
            "[rules.source]",
            'standard = "《基准测试判定标准》"',
            'version = "2026"',
            f'article = "第{n}条"',
            'title = "基准"',
        ]
    path = directory / BENCH_CODE / f"{BENCH_LABEL}.toml"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return checklists.load_file(path)


def prepare(engine: Engine, items: int) -> tuple[str, uuid.UUID, uuid.UUID, uuid.UUID]:
    """Migrate, publish, and create a unit, an inspector with a tablet, and an enterprise.

    Returns (benchmark checklist version, inspector's unit id, enterprise id, device id)."""
    migrate.upgrade(engine)
    with tempfile.TemporaryDirectory() as tmp, Session(engine, expire_on_commit=False) as session:
        synthetic = bench_checklist(max(items, MIN_ITEMS), Path(tmp))
        checklist_service.publish(session, [*checklists.load_directory(), synthetic])
        unit = organisation.create_unit(
            session, None, name="基准区", kind=UnitKind.district, parent=None
        )
        inspector = organisation.create_user(
            session,
            None,
            username="bench_inspector",
            display_name="基准检查员",
            password=PASSWORD,
            role=Role.inspector,
            unit=unit,
        )
        enterprise = enterprises.create(
            session, None, unit, {"name": "基准企业", "sector": "other"}
        )
        device = devices.register(
            session,
            inspector,
            uuid.uuid4(),
            app_version="bench",
            schema_version=1,
            platform="bench",
        )
        session.commit()
        return synthetic.version, unit.id, enterprise.id, device.id


# --- push ----------------------------------------------------------------------------------------


def save_args(world: World, answers: int, findings: int) -> dict[str, Any]:
    """A whole inspection as a tablet saves it: items 1..findings are defects with findings."""
    codes = [f"{BENCH_CODE}.{n}" for n in range(1, answers + 1)]
    return {
        "id": str(uuid.uuid4()),
        "checklist": {"code": BENCH_CODE, "version": world.version},
        "enterprise_id": str(world.enterprise_id),
        "kind": "department_inspection",
        "started_at": "2026-11-20T09:00:00+08:00",
        "finished_at": "2026-11-20T10:30:00+08:00",
        "location": {"lat": 26.07, "lon": 119.3, "accuracy_m": 8},
        "inspectors": [{"name": "李检查"}, {"name": "王检查"}],
        "answers": [
            {"item": code, "answer": "no" if n < findings else "yes", "note": None}
            for n, code in enumerate(codes)
        ],
        "findings": [
            {
                "id": str(uuid.uuid4()),
                "items": [codes[n % len(codes)]],
                "description": "未设置安全警示标志，现场作业人员未佩戴防护用品",
                "requirement": "立即设置警示标志并组织培训",
                "deadline": "2026-12-01",
                "claimed_level": "general",
                "photos": [],
            }
            for n in range(findings)
        ],
        "photos": [],
        "signatures": [{"role": "inspector", "name": "李检查", "sha256": uuid.uuid4().hex * 2}],
    }


def workload(world: World, first_seq: int, args: argparse.Namespace) -> Workload:
    bodies, rows = [], []
    seq = first_seq
    for _ in range(args.pushes):
        mutations = []
        for _ in range(args.commands):
            save = save_args(world, args.answers, args.findings)
            mutations.append(
                {"seq": seq, "id": str(uuid.uuid4()), "name": "inspection.save@1", "args": save}
            )
            rows += [
                {"inspection_id": uuid.UUID(save["id"]), **answer} for answer in save["answers"]
            ]
            seq += 1
        body = {"device_id": str(world.device_id), "protocol": 1, "mutations": mutations}
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return Workload(bodies, rows)


def time_pushes(client: FlaskClient, world: World, load: Workload) -> float:
    started = time.perf_counter()
    for body in load.bodies:
        reply = client.post(
            "/api/v1/sync/push", data=body, headers=world.headers, content_type="application/json"
        )
        if reply.status_code != 200:
            sys.exit(f"push failed: {reply.status_code} {reply.get_data(as_text=True)[:500]}")
        statuses = {r["status"] for r in reply.json["results"]}
        if statuses != {"applied"}:
            sys.exit(f"push not applied: {reply.json['results'][:2]}")
    return time.perf_counter() - started


def raw_table(engine: Engine) -> Table:
    """inspection_answers' columns and primary key, created fresh with no foreign keys."""
    table = Table(
        "bench_raw_answers",
        MetaData(),
        *(
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in InspectionAnswer.__table__.columns
        ),
    )
    table.drop(engine, checkfirst=True)
    table.create(engine)
    return table


def time_raw(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> float:
    stmt = pg_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={"answer": stmt.excluded.answer, "note": stmt.excluded.note},
    )
    with Session(engine) as session:
        started = time.perf_counter()
        session.execute(stmt, rows)
        session.commit()
        return time.perf_counter() - started


# --- pull ----------------------------------------------------------------------------------------


def fill_bucket(engine: Engine, unit_id: uuid.UUID, total: int) -> tuple[uuid.UUID, str]:
    """A second inspector whose own bucket holds `total` changes; returns (user id, username)."""
    with Session(engine, expire_on_commit=False) as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        town = organisation.create_unit(
            session, None, name="基准镇", kind=UnitKind.town, parent=unit
        )
        user = organisation.create_user(
            session,
            None,
            username="bench_puller",
            display_name="基准拉取员",
            password=PASSWORD,
            role=Role.inspector,
            unit=town,
        )
        session.commit()
    bucket = changes.user_bucket(user.id)
    for start in range(0, total, RECORD_BATCH):
        with Session(engine) as session:
            changes.record(
                session,
                (change_row(bucket, n) for n in range(start, min(total, start + RECORD_BATCH))),
            )
            session.commit()
    return user.id, user.username


def change_row(bucket: str, n: int) -> changes.ChangeRow:
    """An inspection summary as the unit bucket carries it: about 400 bytes of JSON."""
    return changes.ChangeRow(
        bucket,
        "inspection",
        str(uuid.uuid4()),
        "upsert",
        1,
        {
            "id": str(uuid.uuid4()),
            "enterprise_id": str(uuid.uuid4()),
            "checklist": {"code": "confined_space", "version": "2023-abcdef12"},
            "kind": "department_inspection",
            "finding_count": n % 4,
            "unit_id": str(uuid.uuid4()),
            "inspector_id": str(uuid.uuid4()),
            "status": "draft",
            "version": 1,
            "level": "general" if n % 3 else "major",
            "updated_at": "2026-11-20T10:30:00+00:00",
            "note": "现场检查发现有限空间作业未设置监护人员",
        },
    )


@dataclass(frozen=True)
class Pulled:
    seconds: float  # the whole loop, the tablet's JSON decoding included
    decoding: float  # of which decoding the replies, as the tablet would
    received: int
    requests: int
    expected: int

    @property
    def server_seconds(self) -> float:
        return self.seconds - self.decoding


def time_pull(client: FlaskClient, headers: dict[str, str], device_id: uuid.UUID) -> Pulled:
    """Pull until has_more is false."""
    cursors: dict[str, str | None] = {}
    received = requests = 0
    decoding = 0.0
    started = time.perf_counter()
    while True:
        reply = client.post(
            "/api/v1/sync/pull",
            headers=headers,
            json={"device_id": str(device_id), "cursors": cursors, "limit": PULL_LIMIT},
        )
        requests += 1
        if reply.status_code != 200:
            sys.exit(f"pull failed: {reply.status_code} {reply.get_data(as_text=True)[:500]}")
        decode_started = time.perf_counter()
        page = json.loads(reply.get_data())
        decoding += time.perf_counter() - decode_started
        received += len(page["changes"])
        cursors.update(page["cursors"])
        if not page["has_more"]:
            return Pulled(time.perf_counter() - started, decoding, received, requests, 0)


# --- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()[0]
    with fresh_database(args.postgres_url) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        app = make_app(url, Path(tmp))
        try:
            version, unit_id, enterprise_id, device_id = prepare(engine, args.answers)
            client = app.test_client()
            world = World(login(client, "bench_inspector"), device_id, enterprise_id, version)
            push_times, raw_times = measure_push(engine, client, world, args)
            pull = measure_pull(engine, client, unit_id, args.pull_changes)
            stored = count_answers(engine)
        finally:
            app.extensions["anjian"].db.dispose()
            engine.dispose()
    report(args, push_times, raw_times, pull, stored, (load_before, os.getloadavg()[0]))


def measure_push(
    engine: Engine, client: FlaskClient, world: World, args: argparse.Namespace
) -> tuple[list[float], list[float]]:
    """Rounds of push and raw on the same answer rows; the order alternates each round."""
    table = raw_table(engine)
    times: dict[str, list[float]] = {"push": [], "raw": []}
    per_round = args.pushes * args.commands
    for n in range(args.rounds):
        load = workload(world, 1 + n * per_round, args)
        for name in ("push", "raw") if n % 2 == 0 else ("raw", "push"):
            if name == "push":
                seconds = time_pushes(client, world, load)
            else:
                seconds = time_raw(engine, table, load.answer_rows)
            times[name].append(seconds)
            rate = len(load.answer_rows) / seconds
            print(f"round {n + 1}: {name:<4} {seconds:7.2f} s {rate:10,.0f} answers/s", flush=True)
    return times["push"], times["raw"]


def measure_pull(engine: Engine, client: FlaskClient, unit_id: uuid.UUID, total: int) -> Pulled:
    user_id, username = fill_bucket(engine, unit_id, total)
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        device_id = devices.register(
            session, user, uuid.uuid4(), app_version="bench", schema_version=1, platform="bench"
        ).id
        session.commit()
        expected = session.scalar(
            select(func.count()).where(Change.bucket.in_(changes.buckets_of(user)))
        )
    pulled = time_pull(client, login(client, username), device_id)
    print(f"pull: {pulled.received:,} changes in {pulled.seconds:.2f} s", flush=True)
    return replace(pulled, expected=int(expected or 0))


def count_answers(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(InspectionAnswer)) or 0)


def report(
    args: argparse.Namespace,
    push_times: list[float],
    raw_times: list[float],
    pull: Pulled,
    stored: int,
    load: tuple[float, float],
) -> None:
    answers = args.pushes * args.commands * args.answers
    push_rate, raw_rate = answers / min(push_times), answers / min(raw_times)
    ratio = push_rate / raw_rate
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    lines = [
        "sync push/pull benchmark on PostgreSQL. Requests go through Flask's test client:",
        "in-process WSGI, no network and no HTTP server.",
        f"  workload    {args.pushes} pushes x {args.commands} inspection.save@1 commands, "
        f"each {args.answers} answers + {args.findings} findings",
        f"              = {answers:,} answers per round, {args.rounds} rounds",
        f"  push (API)  best {push_rate:9,.0f} answers/s "
        f"({args.pushes * args.commands / min(push_times):,.0f} commands/s)",
        f"              rounds {spread(push_times)}",
        f"  raw upsert  best {raw_rate:9,.0f} answers/s (one executemany ON CONFLICT, no FKs)",
        f"              rounds {spread(raw_times)}",
        f"  ratio       {ratio:.0%} of raw: {verdict} the {TARGET_RATIO:.0%} target",
        f"  pull        {pull.received / pull.server_seconds:9,.0f} changes/s served "
        f"({pull.received:,} of {pull.expected:,} changes, {pull.requests} requests, "
        f"limit {PULL_LIMIT})",
        f"              {pull.received / pull.seconds:9,.0f} changes/s with the tablet's JSON "
        f"decoding ({pull.seconds:.2f} s, of which decoding {pull.decoding:.2f} s)",
        f"  stored      {stored:,} rows in inspection_answers at the end",
        f"  load avg    {load[0]:.2f} before, {load[1]:.2f} after, on {os.cpu_count()} cores",
    ]
    print("\n" + "=" * 78, *lines, "=" * 78, sep="\n")
    if pull.received != pull.expected:
        sys.exit(
            "pull did not deliver every change of the device's buckets: a transaction still "
            "open elsewhere on the PostgreSQL server (any database) holds back pull's horizon"
        )


def spread(times: list[float]) -> str:
    shown = ", ".join(f"{t:.2f}s" for t in times)
    if len(times) < 2:
        return shown
    return f"{shown}; spread {(max(times) - min(times)) / statistics.mean(times):.0%} of the mean"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=100)
    parser.add_argument("--commands", type=int, default=50, help="commands per push (max 200)")
    parser.add_argument("--answers", type=int, default=40, help="answers per inspection")
    parser.add_argument("--findings", type=int, default=2, help="findings per inspection")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of push and raw")
    parser.add_argument("--pull-changes", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="a server to create databases on")
    args = parser.parse_args(argv)
    if args.findings > args.answers:
        parser.error("--findings may not exceed --answers (each finding names a defect item)")
    return args


if __name__ == "__main__":
    run(parse_args())

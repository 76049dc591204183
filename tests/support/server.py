"""The API as a real process: ``anjian run`` on a free port, probed on /healthz, killed at will.

For tests of what survives a crash. The server writes its log to a file (never a pipe that
could fill up), dies with the test process if that is killed first (Linux), and ``stop()`` is
safe to call whatever state the process is in.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT = 30.0
SECRET_KEY = "k" * 40
# What a developer's shell may export that must not reach a server under test.
INHERITED_NOT = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ANJIAN_ENV",
    "ANJIAN_DATA_DIR",
    "ANJIAN_FAULT",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anjian_command() -> Path:
    """The ``anjian`` script installed next to this Python (the venv's bin directory)."""
    return Path(sys.executable).with_name("anjian")  # not resolved: the venv's bin, not pyenv's


def _die_with_parent() -> Callable[[], None] | None:
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGKILL)


class Reply:
    """A whole HTTP reply, read and closed."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class ApiServer:
    """One ``anjian run`` process at a time, on a new free port at each start."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.starts}.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
        env.update(
            ANJIAN_ENV="test",
            ANJIAN_DATA_DIR=str(self.data_dir),
            DATABASE_URL=self.database_url,
            SECRET_KEY=SECRET_KEY,
            LOG_LEVEL="WARNING",
        )
        return env

    def start(self, **env: str) -> None:
        """Start the server, with `env` added to its environment (e.g. ANJIAN_FAULT)."""
        assert self.process is None, "stop the running server first"
        self.starts += 1
        self.port = free_port()
        command = [str(anjian_command()), "run", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.environment(), **env},
                preexec_fn=_die_with_parent(),  # the child only makes one system call
            )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start-up:\n{self.log()}")
            try:
                if self.request("GET", "/healthz", timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"the server did not answer /healthz in {STARTUP_TIMEOUT} s:\n{self.log()}"
        )

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no reply; the process is gone when this returns."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 30,
    ) -> Reply:
        """One request on its own connection, closed before returning (or raising)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, response.read())
        finally:
            connection.close()

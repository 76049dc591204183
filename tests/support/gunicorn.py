"""The API in its production shape: gunicorn with N sync workers on a free port, its log (JSON
lines, stderr) in a file, started with the repository's backend/gunicorn_conf.py.

`anjian_worker` runs one `anjian worker --burst` with the same environment (so the same
PROMETHEUS_MULTIPROC_DIR), to the end of the queue.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .server import INHERITED_NOT, STARTUP_TIMEOUT, Reply, _die_with_parent, free_port


class HeadedReply(Reply):
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__(status, body)
        self.headers = headers


class Gunicorn:
    def __init__(self, env: dict[str, str], data_dir: Path, *, workers: int = 2) -> None:
        base = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
        self.env = {**base, **env}
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.log_path = data_dir / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            "python:backend.gunicorn_conf",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "backend.app:create_app()",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=_die_with_parent(),
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start-up:\n{self.log()}")
            try:
                if self.request("GET", "/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer /healthz:\n{self.log()}")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()  # graceful: the master stops its workers (child_exit)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line of the log, parsed: a line that is not a JSON object fails the test."""
        lines = self.log_path.read_text().splitlines()
        parsed = [json.loads(line) for line in lines if line.strip()]
        assert all(isinstance(p, dict) for p in parsed)
        return parsed

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = 30,
    ) -> HeadedReply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            return HeadedReply(response.status, response.read(), dict(response.getheaders()))
        finally:
            connection.close()

    def anjian_worker(self, *, timeout: float = 120) -> str:
        """`anjian worker --burst` with this server's environment; its log."""
        log_path = self.data_dir / "worker.log"
        result = subprocess.run(
            [str(Path(sys.executable).with_name("anjian")), "worker", "--burst"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        log_path.write_bytes(result.stdout + result.stderr)
        assert result.returncode == 0, log_path.read_text(errors="replace")[-4000:]
        return result.stderr.decode(errors="replace")

"""gunicorn settings for the API (`gunicorn -c python:backend.gunicorn_conf ...`).

Sync workers: a worker that is busy for longer than `timeout` (a client trickling its body, a
stuck request) is killed and replaced, so a slow client holds a worker for at most that long;
the app's own body deadline (ANJIAN_BODY_TIMEOUT, backend/serving.py) answers 408 before it.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import multiprocess

from backend import logs, metrics

timeout = 75
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# --- logs and metrics (docs/metrics.md) ----------------------------------------------------------
# gunicorn's own lines and the app's, as one JSON object per line on stderr (backend/logs.py).
# Each worker writes its metrics to PROMETHEUS_MULTIPROC_DIR (set it in the environment before
# gunicorn starts: prometheus_client reads it at import); /metrics sums them over the workers.

logconfig_dict = logs.gunicorn_logconfig(
    os.environ.get("LOG_LEVEL", "INFO").upper(), os.environ.get("LOG_FORMAT", "json").lower()
)


def on_starting(server: object) -> None:
    """Before the first worker: drop this host's metric files of processes that are gone, so a
    restart begins from the live processes' values (an `anjian worker` sharing the directory
    keeps its own)."""
    directory = os.environ.get(metrics.MULTIPROC_ENV)
    if directory:
        multiproc_cleanup(directory)


def child_exit(server: object, worker: object) -> None:
    """A worker exited (recycled, killed, timed out): its live gauges go; its counters stay in
    the sums, as a counter must."""
    directory = os.environ.get(metrics.MULTIPROC_ENV)
    if directory:
        pid = worker.pid  # type: ignore[attr-defined]
        multiprocess.mark_process_dead(f"{socket.gethostname()}-{pid}", directory)


def multiproc_cleanup(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    mine = f"_{socket.gethostname()}-"
    for name in os.listdir(directory):
        _head, found, pid = name.removesuffix(".db").rpartition(mine)
        if found and pid.isdigit() and not _alive(int(pid)):
            os.remove(os.path.join(directory, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

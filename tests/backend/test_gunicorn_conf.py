"""gunicorn's start-up drops the metric files of this host's processes that are gone, and only
those: a live process's (an `anjian worker` sharing the directory) and another host's stay."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from backend import gunicorn_conf


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        check=True,
        text=True,
    )
    return int(child.stdout)


def test_start_up_removes_only_the_files_of_this_host_s_dead_processes(tmp_path: Path) -> None:
    host = socket.gethostname()
    dead, alive = _dead_pid(), os.getpid()
    names = {
        "dead": f"counter_{host}-{dead}.db",
        "dead_histogram": f"histogram_{host}-{dead}.db",
        "alive": f"counter_{host}-{alive}.db",
        "other_host": f"counter_another-host-{dead}.db",
        "not_ours": "notes.txt",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"")
    gunicorn_conf.multiproc_cleanup(str(tmp_path))
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {names["alive"], names["other_host"], names["not_ours"]}

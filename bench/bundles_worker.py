"""The worker side of bench/bundles.py: one process that runs one bundle build, as a worker
does, and reports its time and peak RSS. Imports only what `anjian worker` imports."""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time


def peak_rss_mb() -> float:
    """VmHWM: this process's own peak. (getrusage's ru_maxrss survives exec, so a child of a
    big parent would report the parent's peak.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    item, database_url, data_dir = int(argv[0]), argv[1], argv[2]
    from backend.app import create_app
    from backend.config import Config
    from backend.jobs import outbox as outbox_jobs

    environment = {
        "ANJIAN_ENV": "test",
        "ANJIAN_DATA_DIR": data_dir,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "b" * 40,
        "LOG_LEVEL": "WARNING",
        **json.loads(os.environ["BENCH_S3"]),
    }
    app = create_app(Config.from_env(environment))
    timings: dict[str, float] = {}

    class Timings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            timings.update(getattr(record, "bundle_timings", {}))

    build_log = logging.getLogger("backend.services.bundles.build")
    build_log.setLevel(logging.INFO)
    build_log.addHandler(Timings())
    before = peak_rss_mb()
    started = time.perf_counter()
    result = outbox_jobs.run(item)
    seconds = time.perf_counter() - started
    report = {
        "result": result,
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
        "rss_before_mb": before,
        # The renderer's own peak is at most this (a child's ru_maxrss counts from its fork).
        "pdf_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "timings": timings,
    }
    print(json.dumps(report))
    app.extensions["anjian"].store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What metrics cost in multiprocess mode: a request's counting, and a scrape as the number of
processes that ever wrote to PROMETHEUS_MULTIPROC_DIR grows (recycled and crashed workers' files
stay in the sums: docs/decision-metrics.md).

    .venv/bin/python -m bench.metrics [--processes 2 8 32] [--routes 80] [--scrapes 20]

Each simulated process is a real child process that imports backend.metrics and records one
request on each of `--routes` routes (with two statuses), a push's commands and a job run, then
exits. The scrape is prometheus_client's MultiProcessCollector over the directory, as
GET /metrics does it (the database and Redis readings are not included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
from backend import metrics
for i in range({routes}):
    route = f"/api/v1/route{{i}}/<uuid:id>"
    metrics.observe_request(route, "GET", 200, 0.012)
    metrics.observe_request(route, "GET", 404, 0.003)
metrics.count_commands([{{"status": "applied"}}, {{"status": "rejected", "code": "text.invalid"}}])
metrics.count_job("ledger.create_entries", "done", 0.05)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--routes", type=int, default=80)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # before prometheus_client loads
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        from backend import metrics

        started = time.perf_counter()
        for _ in range(args.calls):
            metrics.observe_request("/api/v1/sync/push", "POST", 200, 0.02)
        per_call = (time.perf_counter() - started) / args.calls * 1e6
        print(f"counting one request (multiprocess mode): {per_call:.1f} µs")
        made = 1
        for processes in args.processes:
            env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
            for _ in range(processes - made):
                subprocess.run(
                    [sys.executable, "-c", CHILD.format(routes=args.routes)], env=env, check=True
                )
            made = max(made, processes)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            timings, size = [], 0
            for _ in range(args.scrapes):
                begin = time.perf_counter()
                size = len(generate_latest(registry))
                timings.append((time.perf_counter() - begin) * 1000)
            files = len(list(Path(directory).glob("*.db")))
            print(
                f"{made:>3} processes, {files:>3} files: scrape p50 "
                f"{statistics.median(timings):.1f} ms, max {max(timings):.1f} ms, "
                f"{size / 1024:.0f} KiB of text"
            )


if __name__ == "__main__":
    main()

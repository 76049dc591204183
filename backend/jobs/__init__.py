"""Background jobs: rq against Redis when REDIS_URL is set, a thread in-process otherwise.

Jobs take only JSON-serialisable ids, have deterministic job ids, and are idempotent: Redis only
delivers work, the database holds the truth.
"""

from __future__ import annotations

from redis import Redis


def redis_connection(url: str, *, timeout: float = 5.0) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)

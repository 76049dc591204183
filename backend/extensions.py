"""The long-lived collaborators of one process, built once from the config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from media.store import ObjectStore, S3Store, store_from_settings

from .config import Config
from .db import Database
from .services.auth import LoginPolicy


class Dispatcher(Protocol):
    """Hands jobs to workers (`backend.jobs.runtime` has rq's and the in-process one)."""

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        """Queue the job once; `at_front`: before the jobs already waiting."""

    def withdraw(self, job_ids: list[str]) -> None:
        """Drop these jobs if they are still waiting (their work was done by another job)."""

    def check(self) -> None:
        """Raise if the workers cannot be reached (readiness)."""


@dataclass
class Services:
    config: Config
    db: Database
    store: ObjectStore
    login_policy: LoginPolicy
    dispatcher: Dispatcher


def build_services(config: Config, db: Database, dispatcher: Dispatcher) -> Services:
    return Services(
        config=config,
        db=db,
        store=store_from_settings(config.s3, local_root=config.media_dir),
        dispatcher=dispatcher,
        login_policy=LoginPolicy(
            secret_key=config.secret_key,
            token_ttl=timedelta(seconds=config.token_ttl_seconds),
            max_failures=config.login_max_failures,
            lock=timedelta(seconds=config.login_lock_seconds),
        ),
    )


def prepare_store(store: ObjectStore) -> None:
    """Create the bucket on first start; the local store makes its directories itself."""
    if isinstance(store, S3Store):
        store.create_bucket_if_missing()

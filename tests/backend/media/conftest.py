"""Photo evidence against a real database (commits are real: uploads commit and enqueue) and
each object store: the local directory and the SeaweedFS S3 server the test session starts.

Every test here runs on SQLite and PostgreSQL, each with both stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.extensions import Services
from backend.jobs import runtime
from tests.backend.media.support import World
from tests.conftest import make_config
from tests.support.s3 import BucketPool, S3Server, remove_bucket


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def s3_environment(server: S3Server, bucket: str, endpoint: str | None = None) -> dict[str, str]:
    """The S3_* variables an operator would set for this bucket."""
    return {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint or server.endpoint_url,
        "S3_ACCESS_KEY_ID": server.access_key,
        "S3_SECRET_ACCESS_KEY": server.secret_key,
        "S3_REGION": server.region,
    }


@pytest.fixture
def store_environment(store_kind: str, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if store_kind == "local":
        yield {}
        return
    server: S3Server = request.getfixturevalue("s3_server")
    buckets: BucketPool = request.getfixturevalue("s3_buckets")
    bucket = buckets.take()
    yield s3_environment(server, bucket)
    remove_bucket(buckets.client, bucket)


def build_app(engine: Engine, data_dir: Path, **environment: str) -> Flask:
    url = engine.url.render_as_string(hide_password=False)
    flask_app = create_app(make_config(data_dir, url, **environment))
    flask_app.config["TESTING"] = True
    return flask_app


def finish(flask_app: Flask) -> None:
    """Let jobs still queued in-process finish, then release the app's connections."""
    svc: Services = flask_app.extensions["anjian"]
    svc.dispatcher.join()  # type: ignore[attr-defined]
    close = getattr(svc.store, "close", None)
    if close is not None:
        close()
    svc.db.dispose()


@pytest.fixture
def media_app(
    live_engine: Engine, tmp_path: Path, store_environment: dict[str, str]
) -> Iterator[Flask]:
    flask_app = build_app(live_engine, tmp_path, **store_environment)
    yield flask_app
    finish(flask_app)


@pytest.fixture
def world(media_app: Flask, live_session: Session) -> World:
    runtime.bind(media_app.extensions["anjian"])
    return World(media_app, live_session)

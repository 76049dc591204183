"""Helpers of the photo evidence tests: a world of units and users, photos made in code."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.extensions import Services
from backend.models import Role, User
from media import ObjectStore
from tests.factories import auth_headers, make_enterprise, make_unit, make_user
from tests.media.images_support import exif, jpeg, photo
from tests.sync_support import Tablet, save_args

# Direct uploads exist only with an S3 store.
S3_ONLY = pytest.mark.parametrize("store_kind", [pytest.param("s3", marks=pytest.mark.s3)])


class World:
    """Two towns of one district: ours (an inspector, a supervisor, an enterprise) and another
    (a supervisor); an admin of the district above both."""

    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.session = session
        self.district = make_unit(session)
        self.unit = make_unit(session, parent=self.district)
        self.other_unit = make_unit(session, parent=self.district)
        self.enterprise = make_enterprise(session, self.unit)
        self.other_enterprise = make_enterprise(session, self.other_unit)
        self.inspector = make_user(session, self.unit)
        self.supervisor = make_user(session, self.unit, Role.supervisor)
        self.other_inspector = make_user(session, self.other_unit)
        self.other_supervisor = make_user(session, self.other_unit, Role.supervisor)
        self.admin = make_user(session, self.district, Role.admin)
        session.commit()
        self._headers: dict[uuid.UUID, dict[str, str]] = {}
        self.tablet = Tablet(self.client, self.headers(self.inspector))

    @property
    def svc(self) -> Services:
        return self.app.extensions["anjian"]  # type: ignore[no-any-return]

    @property
    def store(self) -> ObjectStore:
        return self.svc.store

    def headers(self, user: User) -> dict[str, str]:
        if user.id not in self._headers:
            self._headers[user.id] = auth_headers(self.client, user)
        return self._headers[user.id]

    def jobs(self) -> None:
        """Wait for the in-process worker to finish what the requests enqueued."""
        self.svc.dispatcher.join()  # type: ignore[attr-defined]

    def declare(self, data: bytes, user: User | None = None, **overrides: Any) -> Any:
        body = {
            "sha256": sha(data),
            "size": len(data),
            "content_type": "image/jpeg",
            **overrides,
        }
        return self.client.post(
            "/api/v1/media", headers=self.headers(user or self.inspector), json=body
        )

    def put(self, data: bytes, user: User | None = None, sha256: str | None = None) -> Any:
        return self.client.put(
            f"/api/v1/media/{sha256 or sha(data)}",
            headers={**self.headers(user or self.inspector), "Content-Type": "image/jpeg"},
            data=data,
        )

    def upload(self, data: bytes, user: User | None = None) -> dict[str, Any]:
        reply = self.put(data, user)
        assert reply.status_code == 200, reply.json
        self.jobs()
        return dict(reply.json)

    def get(self, path: str, user: User | None = None) -> Any:
        reply = self.client.get(path, headers=self.headers(user or self.supervisor))
        reply.get_data()  # read a streamed body, then close it as a WSGI server would
        reply.close()
        return reply

    def save(
        self,
        photos: list[bytes],
        *,
        tablet: Tablet | None = None,
        enterprise: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Push an inspection.save@1 referencing these photos; return its arguments."""
        tablet = tablet or self.tablet
        args = save_args(
            self.session,
            (enterprise or self.enterprise).id,
            photos=[
                {"sha256": sha(p), "item": None, "caption": "现场", "taken_at": None}
                for p in photos
            ],
            **extra,
        )
        self.session.commit()
        reply = tablet.push(tablet.command("inspection.save@1", args))
        assert reply.json["results"][0]["status"] == "applied", reply.json
        return args

    def count(self, model: Any) -> int:
        value = self.session.scalar(select(func.count()).select_from(model))
        self.session.commit()  # never hold a transaction open while the app works
        return int(value or 0)

    def tuples(self, query: Any) -> list[Any]:
        found = list(self.session.execute(query))
        self.session.commit()
        return found

    def rows(self, query: Any) -> list[Any]:
        """Rows as the database has them now (fresh, not the session's cached copies)."""
        found = list(self.session.scalars(query.execution_options(populate_existing=True)))
        self.session.commit()
        return found


class HeldJobs:
    """A dispatcher that keeps what it is given, as a queue with no worker running."""

    def __init__(self) -> None:
        self.held: list[int] = []

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        self.held.append(args[0])

    def check(self) -> None:
        """Always reachable."""

    def withdraw(self, job_ids: list[str]) -> None:
        """Kept: the test runs what it holds itself."""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_seeds = iter(range(1, 1_000_000))


def camera_jpeg(
    width: int = 640, height: int = 480, *, seed: int | None = None, **exif_values: Any
) -> bytes:
    """A small photo-like JPEG with the EXIF a phone writes; a new picture on every call."""
    values = {"taken": "2026:11:20 09:30:00", "offset": "+08:00", "make": "Xiaomi", **exif_values}
    return jpeg(photo(width, height, seed=seed or next(_seeds)), exif=exif(**values))


def objects(store: ObjectStore) -> list[str]:
    prefixes = ("originals/", "derivatives/", "staging/")
    return sorted(key for prefix in prefixes for key, _ in store.iter_keys(prefix))


def read(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()

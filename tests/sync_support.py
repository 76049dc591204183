"""Builders for the tablet protocol: commands as a tablet would send them."""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.models import ChecklistVersion

_photos = itertools.count(1)


def photo_hash() -> str:
    return hashlib.sha256(f"photo {next(_photos)}".encode()).hexdigest()


def checklist_version(session: Session, code: str) -> str:
    return (
        session.scalars(
            select(ChecklistVersion.version)
            .where(ChecklistVersion.checklist_code == code)
            .order_by(ChecklistVersion.id.desc())
        ).first()
        or ""
    )


def save_args(
    session: Session,
    enterprise_id: uuid.UUID,
    *,
    inspection_id: uuid.UUID | None = None,
    code: str = "confined_space",
    answers: dict[str, str] | None = None,
    findings: list[dict[str, Any]] | None = None,
    signed: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    answers = {"confined_space.2": "yes"} if answers is None else answers
    return {
        "id": str(inspection_id or uuid.uuid4()),
        "checklist": {"code": code, "version": checklist_version(session, code)},
        "enterprise_id": str(enterprise_id),
        "kind": "department_inspection",
        "started_at": "2026-11-20T09:00:00+08:00",
        "finished_at": "2026-11-20T10:30:00+08:00",
        "location": {"lat": 26.07, "lon": 119.3, "accuracy_m": 8},
        "inspectors": [{"name": "李检查"}],
        "answers": [{"item": k, "answer": v, "note": None} for k, v in answers.items()],
        "findings": findings or [],
        "photos": [],
        "signatures": (
            [{"role": "inspector", "name": "李检查", "sha256": photo_hash()}] if signed else []
        ),
        **extra,
    }


def finding(items: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "items": items,
        "description": "未设置安全警示标志",
        "requirement": "立即设置",
        "deadline": "2026-12-01",
        "claimed_level": "general",
        "photos": [],
        **extra,
    }


def complete_confined_space_answers() -> dict[str, str]:
    """Every printed item answered, all compliant."""
    return {f"confined_space.{n}": "yes" for n in range(1, 8)}


def wait_for_horizon(engine: Engine, timeout: float = 30.0) -> None:
    """Wait until no other write transaction is open on the PostgreSQL cluster.

    Pull serves only what lies below the oldest write transaction still running anywhere on
    the server (docs/decision-sync-cursor.md); on a server shared with other work, a test that
    expects to see what it just committed waits for that work first. Bounded; SQLite: no-op.
    """
    if engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            conn.rollback()
            if not busy:
                return
            time.sleep(0.05)


class Tablet:
    """A registered device that numbers its commands 1, 2, 3 ... like the real app."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.device_id = str(uuid.uuid4())
        self.seq = 0
        reply = client.post(
            "/api/v1/sync/devices",
            headers=headers,
            json={
                "device_id": self.device_id,
                "app_version": "1.0",
                "schema_version": 1,
                "platform": "android",
            },
        )
        assert reply.status_code == 200, reply.json

    def command(self, name: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
        self.seq += 1
        return {"seq": self.seq, "id": str(uuid.uuid4()), "name": name, "args": args, **extra}

    def push(self, *mutations: dict[str, Any]) -> Any:
        return self.client.post(
            "/api/v1/sync/push",
            headers=self.headers,
            json={"device_id": self.device_id, "protocol": 1, "mutations": list(mutations)},
        )

    def pull(self, cursors: dict[str, str | None] | None = None, limit: int = 500) -> Any:
        return self.client.post(
            "/api/v1/sync/pull",
            headers=self.headers,
            json={"device_id": self.device_id, "cursors": cursors or {}, "limit": limit},
        )

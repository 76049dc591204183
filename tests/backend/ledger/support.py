"""A district with a town, its people and a tablet; inspections pushed the way a tablet does.

The acceptance case is built here: an inspection of 有限空间作业 with two findings, one general
(item 2, the contract not filed) and one major by 《工贸企业重大事故隐患判定标准》第十三条（一）
(sub-checks 1(a), 1(b) and 1(c) all answered 否, the three conditions at once).
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.jobs import outbox as outbox_jobs
from backend.models import (
    Hazard,
    MediaClaim,
    MediaObject,
    Role,
    Unit,
    UnitKind,
    User,
)
from tests.factories import bearer_headers, make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, finding, save_args

MAJOR_RULE = "confined_space.gmqy2023.13.1"
MAJOR_RULE_LABEL = "《工贸企业重大事故隐患判定标准》第十三条（一）"
_photos = itertools.count(1)


class RecordingDispatcher:
    """Jobs the app asked for, run by the test in its own thread (the test's connection is
    not for sharing with a background thread)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...], str]] = []

    def enqueue(self, func: str, *args: Any, job_id: str, at_front: bool = False) -> None:
        self.jobs.append((func, args, job_id))

    def check(self) -> None:
        """Always reachable."""

    def withdraw(self, job_ids: list[str]) -> None:
        self.jobs = [job for job in self.jobs if job[2] not in job_ids]

    def run_all(self) -> list[str]:
        results = []
        while self.jobs:
            func, args, _job_id = self.jobs.pop(0)
            assert func == "backend.jobs.outbox.run"
            results.append(outbox_jobs.run(*args))
        return results


def problem_answers() -> dict[str, str]:
    """Every printed item answered: 1(a)-(c) 否 (第十三条（一）), 2 否, the rest compliant."""
    # The latest confined_space version is 2023.2 (7(c) facts, 中毒风险): 7 itself is compliant.
    answers = {f"confined_space.{n}": "yes" for n in range(2, 8)}
    answers.update(
        {
            "confined_space.1.a": "no",
            "confined_space.1.b": "no",
            "confined_space.1.c": "no",
            "confined_space.1.f": "yes",
            "confined_space.1.d": "yes",
            "confined_space.1.e": "no",  # 是 is the defect here: no blind spots
            "confined_space.2": "no",
            # 第十三条's lead-in: the confined space carries a poisoning risk (2023.2 records it).
            "confined_space.poisoning_risk": "yes",
        }
    )
    return answers


def two_findings() -> list[dict[str, Any]]:
    return [
        finding(
            ["confined_space.1"],
            description="未对有限空间进行辨识、建立安全管理台账，并且未设置明显的安全警示标志",
            requirement="立即辨识有限空间，建立管理台账，设置安全警示标志",
            deadline="2026-12-01",
            claimed_level="major",
        ),
        finding(
            ["confined_space.2"],
            description="有限空间作业合同未送县级主管部门备查",
            requirement="补送合同备查",
            deadline="2026-12-15",
        ),
    ]


@dataclass
class Submitted:
    id: uuid.UUID
    major_finding: uuid.UUID
    general_finding: uuid.UUID
    findings: list[dict[str, Any]] = field(default_factory=list)

    def approval(self, **overrides: Any) -> dict[str, Any]:
        """Confirm both findings at the level the rules suggest."""
        return {
            "decision": "approve",
            "comment": "同意",
            "findings": [
                {"id": str(self.major_finding), "level": "major"},
                {"id": str(self.general_finding), "level": "general"},
            ],
            **overrides,
        }


class World:
    """A district (区) with a town (镇街) below it; people in both; a tablet in the town."""

    def __init__(self, app: Flask, client: FlaskClient, session: Session) -> None:
        self.app, self.client, self.session = app, client, session
        self.district = make_unit(session, kind=UnitKind.district)
        self.town = make_unit(session, parent=self.district)
        self.enterprise = make_enterprise(session, self.town, sector="confined_space")
        self.inspector = make_user(session, self.town, Role.inspector)
        self.supervisor = make_user(session, self.town, Role.supervisor)
        self.district_supervisor = make_user(session, self.district, Role.supervisor)
        self.admin = make_user(session, self.district, Role.admin)
        other = make_unit(session)
        self.stranger = make_user(session, other, Role.supervisor)
        self._headers: dict[uuid.UUID, dict[str, str]] = {}
        # Never hold a transaction open while the app works (SQLite has one writer); on the
        # rolled-back test session a commit only releases a savepoint.
        session.commit()
        self.tablet = Tablet(client, self.headers(self.inspector))

    def headers(self, user: User) -> dict[str, str]:
        """A bearer token for the user, issued the way sign-in issues one (signing in through
        the API is tested elsewhere and costs a password hash per call)."""
        if user.id not in self._headers:
            self._headers[user.id] = bearer_headers(self.app, self.session, user)
            self.session.commit()
        return self._headers[user.id]

    @property
    def jobs(self) -> RecordingDispatcher:
        dispatcher = self.app.extensions["anjian"].dispatcher
        assert isinstance(dispatcher, RecordingDispatcher)
        return dispatcher

    def submit(
        self,
        *,
        kind: str = "department_inspection",
        findings: list[dict[str, Any]] | None = None,
        answers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Submitted:
        findings = two_findings() if findings is None else findings
        args = save_args(
            self.session,
            self.enterprise.id,
            answers=problem_answers() if answers is None else answers,
            findings=findings,
            kind=kind,
            **extra,
        )
        self.session.commit()
        reply = self.tablet.push(
            self.tablet.command("inspection.save@1", args),
            self.tablet.command("inspection.submit@1", {"id": args["id"]}),
        )
        assert [r["status"] for r in reply.json["results"]] == ["applied", "applied"], reply.json
        ids = [uuid.UUID(f["id"]) for f in findings] or [uuid.uuid4()]
        return Submitted(uuid.UUID(args["id"]), ids[0], ids[-1], findings)

    def review(
        self, inspection_id: uuid.UUID, body: dict[str, Any], user: User | None = None
    ) -> Any:
        headers = self.headers(user or self.supervisor)
        self.session.commit()
        return self.client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            headers=headers,
            json=body,
        )

    def approved(self, **submit: Any) -> list[Hazard]:
        """An inspection submitted, approved and turned into ledger entries."""
        submitted = self.submit(**submit)
        reply = self.review(submitted.id, submitted.approval())
        assert reply.status_code == 200, reply.json
        assert self.jobs.run_all() == ["done"]
        return self.hazards(submitted.id)

    def hazards(self, inspection_id: uuid.UUID) -> list[Hazard]:
        return list(
            self.session.scalars(
                select(Hazard)
                .where(Hazard.inspection_id == inspection_id)
                .order_by(Hazard.number)
                .execution_options(populate_existing=True)
            )
        )

    def event(self, hazard: Hazard | uuid.UUID, user: User, **body: Any) -> Any:
        hazard_id = hazard.id if isinstance(hazard, Hazard) else hazard
        headers = self.headers(user)
        self.session.commit()
        return self.client.post(f"/api/v1/hazards/{hazard_id}/events", headers=headers, json=body)

    def photo(self, unit: Unit, user: User) -> str:
        """A photo the unit has uploaded (what POST/PUT /media leaves behind)."""
        return uploaded_photo(self.session, unit, user)

    def count(self, model: Any) -> int:
        return self.session.scalar(select(func.count()).select_from(model)) or 0


def uploaded_photo(session: Session, unit: Unit, user: User) -> str:
    sha = hashlib.sha256(f"after photo {next(_photos)} {uuid.uuid4()}".encode()).hexdigest()
    session.add(
        MediaObject(
            sha256=sha,
            size=1000,
            content_type="image/jpeg",
            width=640,
            height=480,
            info={},
            uploaded_by=user.id,
        )
    )
    session.flush()
    session.add(MediaClaim(sha256=sha, unit_id=unit.id, user_id=user.id))
    session.flush()
    return sha

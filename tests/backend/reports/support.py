"""A district with towns and departments, and records made at the moments a test names.

Hazards enter the ledger as the worker enters them (a ``hazards`` row and its ``created`` event,
written through the ledger's own history); their closed loop goes through the ledger's real
event service with the moment given. Records go through the records service with the clock
moved (time-machine), so their versions carry the time they were entered. Inspections are rows
as a tablet's push and a review leave them.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import time_machine
from sqlalchemy.orm import Session

from backend.models import (
    Enterprise,
    Finding,
    Hazard,
    HazardSource,
    HazardState,
    Inspection,
    InspectionAnswer,
    InspectionReview,
    InspectionStatus,
    Record,
    RecordFamily,
    Role,
    Unit,
    UnitKind,
    User,
)
from backend.services import records
from backend.services.ledger import events, history
from backend.services.ledger.states import CHINA
from backend.services.records.kinds import KINDS
from tests.backend.records.support import EVIDENCE, detail_of
from tests.factories import make_enterprise, make_unit, make_user

MAJOR_CLAUSE = "czrq2023.6.1"  # 城镇燃气: in force in 2023, binds the gas sector
_serial = itertools.count(1)


def at(day: date, hour: int = 10) -> datetime:
    """A moment on a day, China time, as UTC."""
    return datetime.combine(day, time(hour), CHINA).astimezone(UTC)


@contextmanager
def clock(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


@dataclass
class Place:
    unit: Unit
    inspector: User
    supervisor: User
    checker: User  # a second inspector: re-inspects what the first reported
    enterprise: Enterprise


@dataclass
class District:
    session: Session
    unit: Unit
    admin: User
    places: dict[str, Place] = field(default_factory=dict)

    @classmethod
    def make(cls, session: Session, towns: list[str], departments: list[str]) -> District:
        district = make_unit(session, f"测试区{next(_serial)}")
        district_obj = cls(session, district, make_user(session, district, Role.admin))
        for name in towns:
            district_obj.add(name, UnitKind.town)
        for name in departments:
            district_obj.add(name, UnitKind.department)
        return district_obj

    def add(self, name: str, kind: UnitKind) -> Place:
        unit = make_unit(self.session, name, kind=kind, parent=self.unit)
        place = Place(
            unit=unit,
            inspector=make_user(self.session, unit, Role.inspector),
            supervisor=make_user(self.session, unit, Role.supervisor),
            checker=make_user(self.session, unit, Role.inspector),
            enterprise=make_enterprise(self.session, unit, key_enterprise=True),
        )
        self.places[name] = place
        return place

    def enterprise(self, name: str, **values: Any) -> Enterprise:
        return make_enterprise(self.session, self.places[name].unit, **values)

    # --- inspections and hazards -------------------------------------------------------------

    def inspection(
        self,
        name: str,
        day: date,
        *,
        enterprise: Enterprise | None = None,
        kind: str = "department_inspection",
        entered: datetime | None = None,
        checklist: tuple[str, str] = ("gas", "2023"),
        answers: dict[str, str] | None = None,
        rejected: bool = False,
    ) -> Inspection:
        place = self.places[name]
        entered = entered or at(day, 18)
        inspection = Inspection(
            id=uuid.uuid4(),
            unit_id=place.unit.id,
            enterprise_id=(enterprise or place.enterprise).id,
            inspector_id=place.inspector.id,
            checklist_code=checklist[0],
            checklist_version=checklist[1],
            kind=kind,
            status=InspectionStatus.rejected if rejected else InspectionStatus.approved,
            started_at=at(day, 9),
            finished_at=at(day, 11),
            created_at=entered,
            updated_at=entered,
            submitted_at=entered,
        )
        self.session.add(inspection)
        self.session.flush()
        for item, answer in (answers or {}).items():
            self.session.add(
                InspectionAnswer(inspection_id=inspection.id, item=item, answer=answer)
            )
        decision = "reject" if rejected else "approve"
        self.session.add(
            InspectionReview(
                inspection_id=inspection.id,
                inspection_version=1,
                decision=decision,
                reviewer_id=place.supervisor.id,
                comment="x" if rejected else None,
                reviewed_at=entered + timedelta(minutes=30),
            )
        )
        self.session.flush()
        return inspection

    def hazard(
        self,
        name: str,
        day: date,
        *,
        level: str = "general",
        source: str = "department",
        clause: str | None = None,
        entered: datetime | None = None,
        enterprise: Enterprise | None = None,
        without_clause: bool = False,
    ) -> Hazard:
        """A confirmed finding entered in the ledger at ``entered`` (default the evening of
        its day), as the worker enters it."""
        place = self.places[name]
        entered = entered or at(day, 20)
        kind = "self_inspection" if source == "self_reported" else "department_inspection"
        inspection = self.inspection(
            name, day, enterprise=enterprise, kind=kind, entered=entered - timedelta(hours=1)
        )
        finding = Finding(
            id=uuid.uuid4(),
            inspection_id=inspection.id,
            position=1,
            items=["gas.1"],
            description="隐患",
            claimed_level=level,
            suggested_level=level,
        )
        self.session.add(finding)
        self.session.flush()
        if level == "major" and clause is None and not without_clause:
            clause = MAJOR_CLAUSE
        entry = Hazard(
            number=f"YH-2023-{next(_serial):06d}",
            district_id=self.unit.id,
            finding_id=finding.id,
            inspection_id=inspection.id,
            unit_id=place.unit.id,
            enterprise_id=inspection.enterprise_id,
            sector="gas",
            source=HazardSource(source),
            level=level,
            clause=clause if level == "major" else None,
            findings=[str(finding.id)],
            description="隐患",
            deadline=day + timedelta(days=30),
            original_deadline=day + timedelta(days=30),
            found_on=day,
            confirmed_by=place.supervisor.id,
            confirmed_at=entered,
            state=HazardState.pending,
            created_at=entered,
            updated_at=entered,
        )
        self.session.add(entry)
        self.session.flush()
        data = {"level": level, "clause": entry.clause, "source": source}
        history.record(
            self.session, entry, "created", actor=None, before=None, now=entered, data=data
        )
        return entry

    def event(self, entry: Hazard, user: User, moment: datetime, **args: Any) -> None:
        events.record(self.session, user, entry.id, args, now=moment, check_photos=False)

    def rectify(self, entry: Hazard, moment: datetime) -> None:
        """整改情况报告 then a passed 复查 at ``moment``: 已整改 from then on."""
        place = next(p for p in self.places.values() if p.unit.id == entry.unit_id)
        report: dict[str, Any] = {"type": "rectification_reported", "measures": "已整改"}
        if entry.level == "major":
            report |= {
                "responsible_person": "张三",
                "funds": 1000,
                "plan_deadline": entry.deadline,
                "emergency_plan": "应急预案",
            }
        self.event(entry, place.inspector, moment - timedelta(hours=2), **report)
        self.event(entry, place.checker, moment, type="reinspected", passed=True)

    def list_(self, entry: Hazard, moment: datetime) -> None:
        place = next(p for p in self.places.values() if p.unit.id == entry.unit_id)
        self.event(
            entry,
            place.supervisor,
            moment,
            type="listed",
            listed_on=moment.astimezone(CHINA).date(),
            requirements="限期整改",
            deadline=moment.astimezone(CHINA).date() + timedelta(days=30),
        )

    def void(self, entry: Hazard, moment: datetime) -> None:
        self.event(entry, self.admin, moment, type="voided", reason="重复录入")

    # --- records -----------------------------------------------------------------------------

    def record(
        self,
        name: str,
        kind: str,
        day: date,
        *,
        entered: datetime | None = None,
        detail: dict[str, Any] | None = None,
        evidence: bool = True,
        **extra: Any,
    ) -> Record:
        place = self.places[name]
        spec = KINDS[kind]
        values: dict[str, Any] = {
            "kind": kind,
            "occurred_on": day.isoformat(),
            "detail": {**detail_of(kind, place.enterprise, place.unit), **(detail or {})},
        }
        if spec.needs_enterprise or spec.needs_subject or kind in ("briefing",):
            values["enterprise_id"] = str(place.enterprise.id)
        if evidence:
            values |= EVIDENCE.get(kind, {})
        values |= extra
        with clock(entered or at(day, 17)):
            return records.create(self.session, place.inspector, spec.family, values)

    def correct(self, record: Record, moment: datetime, reason: str, **changes: Any) -> None:
        place = next(p for p in self.places.values() if p.unit.id == record.unit_id)
        with clock(moment):
            records.correct(
                self.session,
                place.supervisor,
                record,
                changes,
                reason=reason,
                expected_version=record.version,
            )


def family_of(kind: str) -> RecordFamily:
    return KINDS[kind].family

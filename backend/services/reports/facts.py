"""What the records said at a cut-off, read from their history.

Each hazard's level, clause, state and listing are replayed from its ``hazard_events`` (the
``created`` event carries the level, clause and source it was entered with; ``reclassified``
events change them; ``listed`` lists it; every event says the state after it), never read from
the ``hazards`` row as it is now. Records are the version each had at the horizon
(``records.as_of``). Inspections count when they had been submitted by the horizon and not
rejected by then.

Two moments matter (docs/reports.md):

- the **cut-off** (the end of the period's last day, China time): the state counted;
- the **horizon** (the end of the due day, or of the cut-off day when there is none): what was
  known. Anything entered after it is late (迟报): listed, and counted or not per the template.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.models import (
    Enterprise,
    Finding,
    Hazard,
    HazardEvent,
    Inspection,
    InspectionAnswer,
    InspectionPhoto,
    InspectionReview,
    Record,
    RecordVersion,
)
from backend.services import checklists
from backend.services.ledger.states import CHINA
from reports import ReportingPeriod

VISIT_KINDS = ("department_inspection", "supervisory_inspection")
RECTIFIED = ("rectified", "closed")


def end_of(day: date) -> datetime:
    """The last moment of a day in China, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA) - timedelta(microseconds=1)


@dataclass(frozen=True)
class Moments:
    period: ReportingPeriod
    cutoff: datetime
    horizon: datetime

    @classmethod
    def of(cls, period: ReportingPeriod) -> Moments:
        cutoff = end_of(period.cutoff).astimezone(UTC)
        due = period.due if period.due and period.due > period.cutoff else period.cutoff
        return cls(period, cutoff, end_of(due).astimezone(UTC))

    def within(self, day: date) -> bool:
        return self.period.starts_on <= day <= self.period.cutoff


@dataclass
class HazardFact:
    id: uuid.UUID
    number: str
    unit_id: uuid.UUID
    enterprise_id: uuid.UUID
    found_on: date
    source: str
    entered_at: datetime
    level: str
    clause: str | None
    state: str
    listed: bool
    listing_level: str | None
    rectified_on: date | None  # the day it became 已整改 (passed re-inspection), by the cut-off
    voided: bool
    before_photos: int
    after_photos: int
    late: bool = False
    cut: int = 0  # the id of the last event replayed (the state counted): a filing keeps it


@dataclass
class VisitFact:
    """An inspection (检查) or a re-inspection (复查) of an enterprise by a unit."""

    id: str  # inspection id, or "reinspection:<event id>"
    kind: str  # "inspection" | "reinspection"
    unit_id: uuid.UUID
    enterprise_id: uuid.UUID
    entity_type: str
    day: date
    entered_at: datetime
    checklist_code: str | None = None
    checklist_version: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    defects: frozenset[str] = frozenset()
    photos: int = 0
    late: bool = False


@dataclass
class RecordFact:
    id: uuid.UUID
    kind: str
    unit_id: uuid.UUID
    version: int
    content: dict[str, Any]
    countable: bool
    flags: list[str]
    entered_at: datetime
    corrected_later: bool = False
    late: bool = False
    current_day: date | None = None  # occurred_on now (a later version may have corrected it)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.content["occurred_on"])


@dataclass
class Facts:
    hazards: list[HazardFact]
    visits: list[VisitFact]
    records: list[RecordFact]


def load(session: Session, unit_ids: list[uuid.UUID], m: Moments, *, monthly: bool) -> Facts:
    return Facts(
        hazards=_hazards(session, unit_ids, m, monthly=monthly),
        visits=_inspections(session, unit_ids, m) + _reinspections(session, unit_ids, m),
        records=_records(session, unit_ids, m),
    )


def _hazards(
    session: Session, unit_ids: list[uuid.UUID], m: Moments, *, monthly: bool
) -> list[HazardFact]:
    # A monthly report also needs hazards found before the month and rectified in it.
    lower = date.min if monthly else m.period.starts_on
    rows = session.execute(
        select(
            Hazard.id,
            Hazard.number,
            Hazard.unit_id,
            Hazard.enterprise_id,
            Hazard.found_on,
            Hazard.before_photos,  # evidence only (the figure never reads it): as entered
        )
        .where(Hazard.unit_id.in_(unit_ids))
        .where(Hazard.found_on <= m.period.cutoff, Hazard.found_on >= lower)
    ).all()
    if not rows:
        return []
    # One query for every event of those hazards, only the fields the replay reads.
    d = HazardEvent.data
    query = (
        select(
            HazardEvent.hazard_id,
            HazardEvent.id,
            HazardEvent.type,
            HazardEvent.at,
            HazardEvent.state_after,
            d["level"].as_string().label("level"),
            d["clause"].as_string().label("clause"),
            d["source"].as_string().label("source"),
            d["listing_level"].as_string().label("listing_level"),
            d["photos"].label("photos"),
        )
        .join(Hazard, Hazard.id == HazardEvent.hazard_id)
        .where(Hazard.unit_id.in_(unit_ids))
        .where(Hazard.found_on <= m.period.cutoff, Hazard.found_on >= lower)
        .where(or_(HazardEvent.at <= m.cutoff, HazardEvent.type == "created"))
        .order_by(HazardEvent.hazard_id, HazardEvent.id)
    )
    events: dict[uuid.UUID, list[Event]] = defaultdict(list)
    for e in session.execute(query):
        data = {
            "level": e.level,
            "clause": e.clause,
            "source": e.source,
            "listing_level": e.listing_level,
            "photos": e.photos if isinstance(e.photos, list) else [],
        }
        events[e.hazard_id].append(Event(e.type, e.at, e.state_after, data, e.id))
    facts = []
    for row in rows:
        fact = _replay(row, events.get(row.id, []), m)
        if fact is not None:
            facts.append(fact)
    return facts


@dataclass(frozen=True)
class Event:
    type: str
    at: datetime
    state_after: str
    data: dict[str, Any]
    id: int = 0


def _replay(row: Any, events: list[Event], m: Moments) -> HazardFact | None:
    created = next((e for e in events if e.type == "created"), None)
    if created is None:
        return None
    data = created.data
    fact = HazardFact(
        id=row.id,
        number=row.number,
        unit_id=row.unit_id,
        enterprise_id=row.enterprise_id,
        found_on=row.found_on,
        source=str(data.get("source") or "department"),
        entered_at=created.at,
        level=str(data.get("level")),
        clause=data.get("clause"),
        state=created.state_after,
        listed=False,
        listing_level=None,
        rectified_on=None,
        voided=False,
        before_photos=len(row.before_photos or []),
        after_photos=0,
        late=_aware(created.at) > m.horizon,
        cut=created.id,
    )
    after: set[str] = set()
    for event in events:
        if event is created or _aware(event.at) > m.cutoff:
            continue
        fact.cut = max(fact.cut, event.id)
        fact.state = event.state_after
        if event.type == "reclassified":
            fact.level, fact.clause = event.data.get("level"), event.data.get("clause")
        elif event.type == "listed":
            fact.listed, fact.listing_level = True, event.data.get("listing_level")
        elif event.type == "voided":
            fact.voided = True
        if event.state_after == "rectified" and fact.rectified_on is None:
            fact.rectified_on = _aware(event.at).astimezone(CHINA).date()
        after |= set(event.data.get("photos") or [])
    if fact.state not in RECTIFIED:
        fact.rectified_on = None
    fact.after_photos = len(after)
    return fact


def _inspections(session: Session, unit_ids: list[uuid.UUID], m: Moments) -> list[VisitFact]:
    start = datetime.combine(m.period.starts_on, time(), CHINA).astimezone(UTC)
    day = func.coalesce(Inspection.started_at, Inspection.created_at)
    rejected = (
        select(InspectionReview.inspection_id)
        .where(InspectionReview.decision == "reject", InspectionReview.reviewed_at <= m.horizon)
        .scalar_subquery()
    )
    reviewed = (
        select(func.min(InspectionReview.reviewed_at))
        .where(InspectionReview.inspection_id == Inspection.id)
        .scalar_subquery()
    )
    query = (
        select(
            Inspection.id,
            Inspection.unit_id,
            Inspection.enterprise_id,
            Inspection.started_at,
            Inspection.created_at,
            Inspection.submitted_at,
            Inspection.checklist_code,
            Inspection.checklist_version,
            Enterprise.entity_type,
            reviewed.label("first_review"),
        )
        .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .where(Inspection.unit_id.in_(unit_ids), Inspection.kind.in_(VISIT_KINDS))
        .where(day >= start, day <= m.cutoff)
        .where(or_(Inspection.submitted_at.is_not(None), reviewed.is_not(None)))
        .where(Inspection.id.not_in(rejected))
    )
    visits = []
    for inspection in session.execute(query):
        entity_type, first_review = inspection.entity_type, inspection.first_review
        times = [t for t in (inspection.submitted_at, first_review) if t is not None]
        entered = min(_aware(t) for t in times)
        visits.append(
            VisitFact(
                id=str(inspection.id),
                kind="inspection",
                unit_id=inspection.unit_id,
                enterprise_id=inspection.enterprise_id,
                entity_type=str(entity_type.value if entity_type else "enterprise"),
                day=_aware(inspection.started_at or inspection.created_at).astimezone(CHINA).date(),
                entered_at=entered,
                checklist_code=inspection.checklist_code,
                checklist_version=inspection.checklist_version,
                late=entered > m.horizon,
            )
        )
    _answers(session, [v for v in visits if v.checklist_code == "principal_duties"])
    _photos(session, visits)
    return visits


def _photos(session: Session, visits: list[VisitFact]) -> None:
    """Each inspection's photos for its evidence: its own and its findings', those uploaded
    (a hash still in ``awaiting_media`` is not evidence yet)."""
    by_id = {uuid.UUID(v.id): v for v in visits}
    for chunk in _chunks(list(by_id)):
        hashes: dict[uuid.UUID, set[str]] = defaultdict(set)
        for inspection_id, sha256 in session.execute(
            select(InspectionPhoto.inspection_id, InspectionPhoto.sha256).where(
                InspectionPhoto.inspection_id.in_(chunk)
            )
        ):
            hashes[inspection_id].add(sha256)
        for inspection_id, photos in session.execute(
            select(Finding.inspection_id, Finding.photos).where(Finding.inspection_id.in_(chunk))
        ):
            hashes[inspection_id] |= set(photos or [])
        awaiting = session.execute(
            select(Inspection.id, Inspection.awaiting_media).where(Inspection.id.in_(chunk))
        )
        for inspection_id, waiting in awaiting:
            by_id[inspection_id].photos = len(hashes[inspection_id] - set(waiting or []))


def _answers(session: Session, visits: list[VisitFact]) -> None:
    """The defects of each 抽查 (principal_duties) inspection under its pinned version."""
    by_id = {uuid.UUID(v.id): v for v in visits}
    for chunk in _chunks(list(by_id)):
        for answer in session.scalars(
            select(InspectionAnswer).where(InspectionAnswer.inspection_id.in_(chunk))
        ):
            by_id[answer.inspection_id].answers[answer.item] = answer.answer
    versions: dict[tuple[str, str], Any] = {}
    for v in visits:
        key = (str(v.checklist_code), str(v.checklist_version))
        if key not in versions:
            versions[key] = checklists.get_version(session, *key)
        v.defects = frozenset(checklists.evaluate(versions[key], v.answers.items()).defects)


def _reinspections(session: Session, unit_ids: list[uuid.UUID], m: Moments) -> list[VisitFact]:
    start = datetime.combine(m.period.starts_on, time(), CHINA).astimezone(UTC)
    query = (
        select(
            HazardEvent.id,
            HazardEvent.at,
            HazardEvent.data["photos"].label("photos"),
            Hazard.unit_id,
            Hazard.enterprise_id,
        )
        .join(Hazard, Hazard.id == HazardEvent.hazard_id)
        .where(Hazard.unit_id.in_(unit_ids), HazardEvent.type == "reinspected")
        .where(and_(HazardEvent.at >= start, HazardEvent.at <= m.cutoff))
    )
    return [
        VisitFact(
            id=f"reinspection:{row.id}",
            kind="reinspection",
            unit_id=row.unit_id,
            enterprise_id=row.enterprise_id,
            entity_type="enterprise",
            day=_aware(row.at).astimezone(CHINA).date(),
            entered_at=_aware(row.at),
            photos=len(row.photos) if isinstance(row.photos, list) else 0,
        )
        for row in session.execute(query)
    ]


def _records(session: Session, unit_ids: list[uuid.UUID], m: Moments) -> list[RecordFact]:
    """Each record's version at the horizon, and the records entered only after it (late).

    The period is decided by the date of the version counted, not the record's current date: a
    corrected record (version > 1) is loaded whatever its date now, and the metrics read
    ``RecordFact.day`` (the counted version's ``occurred_on``)."""
    latest = (
        select(RecordVersion.record_id, func.max(RecordVersion.version).label("version"))
        .join(Record, Record.id == RecordVersion.record_id)
        .where(Record.unit_id.in_(unit_ids))
        .where(or_(Record.occurred_on <= m.period.cutoff, Record.version > 1))
        .group_by(RecordVersion.record_id)
        .subquery()
    )
    known = (
        select(RecordVersion.record_id, func.max(RecordVersion.version).label("known"))
        .where(RecordVersion.created_at <= m.horizon)
        .group_by(RecordVersion.record_id)
        .subquery()
    )
    query = (
        select(Record, latest.c.version, known.c.known)
        .join(latest, latest.c.record_id == Record.id)
        .outerjoin(known, known.c.record_id == Record.id)
    )
    wanted: dict[tuple[uuid.UUID, int], tuple[Record, bool, bool]] = {}
    for record, last, seen in session.execute(query):
        version = seen or 1
        wanted[(record.id, version)] = (record, seen is None, bool(seen and last > seen))
    if not wanted:
        return []
    facts = []
    ids = list({k[0] for k in wanted})
    for chunk in _chunks(ids):
        for v in session.scalars(select(RecordVersion).where(RecordVersion.record_id.in_(chunk))):
            if (v.record_id, v.version) not in wanted:
                continue
            record, late, corrected = wanted[(v.record_id, v.version)]
            facts.append(
                RecordFact(
                    id=record.id,
                    kind=record.kind,
                    unit_id=record.unit_id,
                    version=v.version,
                    content=v.content,
                    countable=v.countable,
                    flags=list(v.flags),
                    entered_at=_aware(v.created_at),
                    corrected_later=corrected,
                    late=late,
                    current_day=record.occurred_on,
                )
            )
    return sorted(
        (f for f in facts if f.day <= m.period.cutoff or _in(f.current_day, m)),
        key=lambda f: (f.day, str(f.id)),
    )


def _in(day: date | None, m: Moments) -> bool:
    return day is not None and m.within(day)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(ids: list[Any], size: int = 5000) -> list[list[Any]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]

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

import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Date, Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.models import (
    Enterprise,
    EntityType,
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
    """What the counting rules read. Loaded ``grouped`` (the report's figures), ``hazards`` and
    ``visits`` hold only the facts that can be excluded or listed (voided, claimed 重大 without a
    clause, late, not a business; and every 抽查 for its defects), and ``hazard_groups`` /
    ``visit_groups`` stand for all of them: one representative fact per combination of the
    attributes the rules read, with how many facts it stands for (docs/reports.md
    § Performance)."""

    hazards: list[HazardFact]
    visits: list[VisitFact]
    records: list[RecordFact]
    hazard_groups: list[tuple[HazardFact, int]] = field(default_factory=list)
    visit_groups: list[tuple[VisitFact, int]] = field(default_factory=list)
    grouped: bool = False

    def any(self) -> bool:
        return bool(
            self.hazards or self.visits or self.records or self.hazard_groups or self.visit_groups
        )


def load(
    session: Session,
    unit_ids: list[uuid.UUID],
    m: Moments,
    *,
    monthly: bool,
    grouped: bool = False,
) -> Facts:
    if not grouped:
        return Facts(
            hazards=_hazards(session, unit_ids, m, monthly=monthly),
            visits=_inspections(session, unit_ids, m) + _reinspections(session, unit_ids, m),
            records=_records(session, unit_ids, m),
        )
    groups, exceptional = _hazard_groups(session, unit_ids, m, monthly=monthly)
    return Facts(
        hazards=[
            h
            for chunk in _chunks(exceptional)
            for h in _hazards(session, unit_ids, m, monthly=monthly, only=chunk)
        ],
        visits=_inspections(session, unit_ids, m, exceptions_only=True),
        records=_records(session, unit_ids, m),
        hazard_groups=groups,
        visit_groups=_visit_groups(session, unit_ids, m),
        grouped=True,
    )


def _hazards(
    session: Session,
    unit_ids: list[uuid.UUID],
    m: Moments,
    *,
    monthly: bool,
    only: Any = None,
) -> list[HazardFact]:
    # A monthly report also needs hazards found before the month and rectified in it.
    lower = date.min if monthly else m.period.starts_on
    where = [Hazard.unit_id.in_(unit_ids), Hazard.found_on <= m.period.cutoff]
    where.append(Hazard.found_on >= lower)
    if only is not None:
        where.append(Hazard.id.in_(only))
    rows = session.execute(
        select(
            Hazard.id,
            Hazard.number,
            Hazard.unit_id,
            Hazard.enterprise_id,
            Hazard.found_on,
            Hazard.before_photos,  # evidence only (the figure never reads it): as entered
        ).where(*where)
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
        .where(*where)
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


def _hazard_groups(
    session: Session, unit_ids: list[uuid.UUID], m: Moments, *, monthly: bool
) -> tuple[list[tuple[HazardFact, int]], list[uuid.UUID]]:
    """``_replay`` done in SQL for every hazard at once, grouped by what the rules read; and
    the ids of the hazards that can be excluded or listed (voided, 重大 without a clause,
    late), which ``_hazards`` replays one by one.

    One aggregate per hazard over its events by the cut-off (and its ``created`` event whenever
    it came; the ledger writes one per entry): level, clause and source from the ``created``
    event, or from the last ``reclassified`` one; listed and voided if such an event came;
    rectified if its last event left it rectified or closed, and when the first that made it
    ``rectified`` came (in the period or before it: ``rectified_on``). No join back to the
    events but for the rare reclassified ones."""
    lower = date.min if monthly else m.period.starts_on
    start = datetime.combine(m.period.starts_on, time(), CHINA).astimezone(UTC)
    e = HazardEvent
    by_cutoff, created = e.at <= m.cutoff, e.type == "created"
    rectifying = and_(e.type != "created", e.state_after == "rectified", by_cutoff)

    def of_created(value: Any) -> Any:
        return func.max(case((created, value)))

    def flag(test: Any) -> Any:
        return func.max(case((test, 1), else_=0))

    # small codes rather than the strings: the rules compare them with these values only
    level_code = _code(e.data["level"].as_string(), LEVEL_CODES)
    clause_code = case((e.data["clause"].as_string().is_not(None), 1), else_=0)
    source = e.data["source"].as_string()
    source_code = case(
        (or_(source.is_(None), source == ""), SOURCE_CODES["department"]),
        else_=_code(source, SOURCE_CODES),
    )
    found_in = case((Hazard.found_on >= m.period.starts_on, 1), else_=0)
    per = (
        select(
            e.hazard_id,
            Hazard.unit_id,
            found_in.label("found_in"),
            func.count(case((created, e.id))).label("created"),
            of_created(level_code).label("level"),
            of_created(clause_code).label("clause"),
            of_created(source_code).label("source"),
            flag(and_(created, e.at > m.horizon)).label("late"),
            func.max(e.id).label("last"),
            func.max(case((e.state_after.in_(RECTIFIED), e.id))).label("last_rectified"),
            func.min(case((rectifying, e.id))).label("first_rectifying"),
            func.min(case((and_(rectifying, e.at >= start), e.id))).label("first_in_period"),
            func.max(case((and_(e.type == "reclassified", by_cutoff), e.id))).label("rid"),
            flag(and_(e.type == "listed", by_cutoff)).label("listed"),
            func.max(case((and_(e.type == "listed", by_cutoff), e.id))).label("lid"),
            flag(and_(e.type == "voided", by_cutoff)).label("voided"),
        )
        .join(Hazard, Hazard.id == e.hazard_id)
        .where(Hazard.unit_id.in_(unit_ids))
        .where(Hazard.found_on <= m.period.cutoff, Hazard.found_on >= lower)
        .where(or_(by_cutoff, created))
        .group_by(e.hazard_id, Hazard.unit_id, found_in)
        .subquery()
    )
    re = (
        select(e.id, level_code.label("level"), clause_code.label("clause"))
        .where(e.type == "reclassified", by_cutoff)
        .subquery()
    )

    listing = (
        select(e.id, e.data["listing_level"].as_string().label("level"))
        .where(e.type == "listed", by_cutoff)
        .subquery()
    )

    def reclassified(key: str) -> Any:
        return case((per.c.rid.is_not(None), re.c[key]), else_=per.c[key])

    level, has_clause = reclassified("level"), reclassified("clause")
    done = and_(per.c.first_rectifying.is_not(None), per.c.last == per.c.last_rectified)
    rect = case(
        (and_(done, per.c.first_rectifying == per.c.first_in_period), 2), (done, 1), else_=0
    )
    keys = [per.c.unit_id, per.c.found_in, level, has_clause, per.c.source, per.c.listed]
    keys += [per.c.voided, rect, per.c.late, listing.c.level]
    grouped = (
        select(*keys, func.count())
        .select_from(
            per.outerjoin(re, re.c.id == per.c.rid).outerjoin(listing, listing.c.id == per.c.lid)
        )
        .where(per.c.created > 0)
        .group_by(*keys)
    )
    groups = []
    before = m.period.starts_on - timedelta(days=1)
    for n, row in enumerate(session.execute(grouped)):
        unit_id, f_in, lvl, has, src, listed, voided, rectified, is_late, level_listed = row[:10]
        count = row[10]
        groups.append(
            (
                HazardFact(
                    id=uuid.UUID(int=n),
                    number=f"group:{n}",
                    unit_id=unit_id,
                    enterprise_id=uuid.UUID(int=0),
                    found_on=m.period.starts_on if f_in else before,
                    source=SOURCES[int(src)],
                    entered_at=m.cutoff,
                    level=LEVELS[int(lvl)],
                    clause="clause" if has else None,
                    state="rectified" if rectified else "pending",
                    listed=bool(listed),
                    listing_level=level_listed,
                    rectified_on=(None, before, m.period.starts_on)[int(rectified)],
                    voided=bool(voided),
                    before_photos=0,
                    after_photos=0,
                    late=bool(is_late),
                ),
                int(count),
            )
        )
    return groups, _exceptional(session, unit_ids, m, lower)


LEVEL_CODES = {"general": 1, "major": 2}  # anything else: 0, neither
SOURCE_CODES = {"self_reported": 1, "department": 2}  # none: department (as _replay)
LEVELS = {0: "other", **{v: k for k, v in LEVEL_CODES.items()}}
SOURCES = {0: "other", **{v: k for k, v in SOURCE_CODES.items()}}


def _code(value: Any, codes: dict[str, int]) -> Any:
    return case(*((value == text, code) for text, code in codes.items()), else_=0)


def _exceptional(
    session: Session, unit_ids: list[uuid.UUID], m: Moments, lower: date
) -> list[uuid.UUID]:
    """Hazards that may be excluded or listed, and some more (one scan, no replay): voided or
    listed (挂牌督办 at the other level than a column's) by the cut-off, entered after the
    horizon, or entered or reclassified as 重大 without a clause."""
    e = HazardEvent
    level, clause = e.data["level"].as_string(), e.data["clause"].as_string()
    query = (
        select(e.hazard_id)
        .distinct()
        .join(Hazard, Hazard.id == e.hazard_id)
        .where(Hazard.unit_id.in_(unit_ids))
        .where(Hazard.found_on <= m.period.cutoff, Hazard.found_on >= lower)
        .where(
            or_(
                and_(e.type == "voided", e.at <= m.cutoff),
                and_(e.type == "listed", e.at <= m.cutoff),  # may be at the other level
                and_(e.type == "created", e.at > m.horizon),
                and_(e.type.in_(("created", "reclassified")), level == "major", clause.is_(None)),
            )
        )
    )
    return list(session.scalars(query))


def _china_day(session: Session, moment: Any) -> ColumnElement[Any]:
    """The China date of a stored UTC moment, in SQL (China keeps no summer time)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(moment, literal("+8 hours"))
    return cast(func.timezone("Asia/Shanghai", moment), Date)


def _visit_groups(
    session: Session, unit_ids: list[uuid.UUID], m: Moments
) -> list[tuple[VisitFact, int]]:
    """Inspections counted per (unit, enterprise, entity type, late), and 复查 per (unit,
    enterprise, whether an inspection of that enterprise by that unit fell on its China date).
    Each group's representative is dated the cut-off day; a 复查 with no inspection that day
    stands for a made-up enterprise, so that the rule (``counting._visits``) sees it as its
    own visit and the one with an inspection as the same one."""
    start = datetime.combine(m.period.starts_on, time(), CHINA).astimezone(UTC)
    moment = func.coalesce(Inspection.started_at, Inspection.created_at)
    first_review = (
        select(InspectionReview.inspection_id, func.min(InspectionReview.reviewed_at).label("at"))
        .group_by(InspectionReview.inspection_id)
        .subquery()
    )
    rejected = select(InspectionReview.inspection_id).where(
        InspectionReview.decision == "reject", InspectionReview.reviewed_at <= m.horizon
    )
    known = or_(
        and_(Inspection.submitted_at.is_not(None), Inspection.submitted_at <= m.horizon),
        and_(first_review.c.at.is_not(None), first_review.c.at <= m.horizon),
    )
    visits = (
        select(
            Inspection.unit_id,
            Inspection.enterprise_id,
            _china_day(session, moment).label("day"),
            Enterprise.entity_type,
            case((known, 0), else_=1).label("late"),
        )
        .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .outerjoin(first_review, first_review.c.inspection_id == Inspection.id)
        .where(Inspection.unit_id.in_(unit_ids), Inspection.kind.in_(VISIT_KINDS))
        .where(moment >= start, moment <= m.cutoff)
        .where(or_(Inspection.submitted_at.is_not(None), first_review.c.at.is_not(None)))
        .where(Inspection.id.not_in(rejected))
        .cte("visits")  # read twice: the groups, and the days an enterprise was inspected
    )
    v = visits.c
    keys = [v.unit_id, v.enterprise_id, v.entity_type, v.late]
    inspections = select(*keys, func.count()).group_by(*keys)
    seen = select(v.unit_id, v.enterprise_id, v.day).distinct().subquery()
    again = (
        select(
            Hazard.unit_id,
            Hazard.enterprise_id,
            _china_day(session, HazardEvent.at).label("day"),
        )
        .join(Hazard, Hazard.id == HazardEvent.hazard_id)
        .where(Hazard.unit_id.in_(unit_ids), HazardEvent.type == "reinspected")
        .where(and_(HazardEvent.at >= start, HazardEvent.at <= m.cutoff))
        .subquery()
    )
    same_day = case((seen.c.day.is_not(None), 1), else_=0)
    rkeys = [again.c.unit_id, again.c.enterprise_id, same_day]
    reinspections = (
        select(*rkeys, func.count())
        .select_from(
            again.outerjoin(
                seen,
                and_(
                    seen.c.unit_id == again.c.unit_id,
                    seen.c.enterprise_id == again.c.enterprise_id,
                    seen.c.day == again.c.day,
                ),
            )
        )
        .group_by(*rkeys)
    )
    day = m.period.cutoff
    out: list[tuple[VisitFact, int]] = []
    for unit_id, enterprise_id, entity_type, is_late, count in session.execute(inspections):
        kind = str(entity_type.value if entity_type else "enterprise")
        rep = VisitFact(
            f"group:{len(out)}", "inspection", unit_id, enterprise_id, kind, day, m.cutoff
        )
        rep.late = bool(is_late)
        out.append((rep, int(count)))
    for unit_id, enterprise_id, inspected, count in session.execute(reinspections):
        if not inspected:
            enterprise_id = uuid.UUID(int=len(out) + 1)  # its own visit
        rep = VisitFact(
            f"group:{len(out)}", "reinspection", unit_id, enterprise_id, "enterprise", day, m.cutoff
        )
        out.append((rep, int(count)))
    return out


def _inspections(
    session: Session, unit_ids: list[uuid.UUID], m: Moments, *, exceptions_only: bool = False
) -> list[VisitFact]:
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
    if exceptions_only:
        # what can be excluded or listed (not a business, late), and every 抽查 for its defects
        known = or_(
            and_(Inspection.submitted_at.is_not(None), Inspection.submitted_at <= m.horizon),
            and_(reviewed.is_not(None), reviewed <= m.horizon),
        )
        query = query.where(
            or_(
                Enterprise.entity_type == EntityType.non_business,
                ~known,
                Inspection.checklist_code == "principal_duties",
            )
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
    # the version at the horizon (the first when it came later), columns only: no ORM objects;
    # the JSON as text, parsed by orjson (the driver's json.loads costs more than the query)
    wanted = func.coalesce(known.c.known, 1)
    query = (
        select(
            Record.id,
            Record.kind,
            Record.unit_id,
            Record.occurred_on,
            RecordVersion.version,
            cast(RecordVersion.content, Text),
            RecordVersion.countable,
            cast(RecordVersion.flags, Text),
            RecordVersion.created_at,
            latest.c.version,
            known.c.known,
        )
        .join(latest, latest.c.record_id == Record.id)
        .outerjoin(known, known.c.record_id == Record.id)
        .join(
            RecordVersion,
            and_(RecordVersion.record_id == Record.id, RecordVersion.version == wanted),
        )
    )
    facts = [
        RecordFact(
            id=record_id,
            kind=kind,
            unit_id=unit_id,
            version=version,
            content=_json(content),
            countable=countable,
            flags=[] if flags == "[]" else list(_json(flags)),
            entered_at=_aware(created_at),
            corrected_later=bool(seen and last > seen),
            late=seen is None,
            current_day=occurred_on,
        )
        for (
            record_id,
            kind,
            unit_id,
            occurred_on,
            version,
            content,
            countable,
            flags,
            created_at,
            last,
            seen,
        ) in session.execute(query)
    ]
    return sorted(
        (f for f in facts if f.day <= m.period.cutoff or _in(f.current_day, m)),
        key=lambda f: (f.day, str(f.id)),
    )


def _in(day: date | None, m: Moments) -> bool:
    return day is not None and m.within(day)


_LONG_NUMBER = re.compile(r"\d{19}")


def _json(text: str) -> Any:
    """orjson, but the json module where a number may not fit 64 bits (orjson would make it a
    float; backend/db.py reads with the json module for that reason)."""
    return json.loads(text) if _LONG_NUMBER.search(text) else orjson.loads(text)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(ids: list[Any], size: int = 5000) -> list[list[Any]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]

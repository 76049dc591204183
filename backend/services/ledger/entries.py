"""Turning an approved inspection's confirmed findings into ledger entries, exactly once.

Run by the worker for the outbox row the approval wrote. The unique `finding_id` is the
guarantee: the insert skips a finding that already has its entry (ON CONFLICT DO NOTHING), so
running this twice, or in two workers at once, still leaves one entry per finding.

One situation, one major: findings the review merged into another (confirmed major under the
same clause, `merged_into`) make no entry of their own; the lead's entry carries them all —
their ids, descriptions, requirements and photos — and the earliest of their deadlines.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import db
from backend.models import (
    ChecklistVersion,
    Enterprise,
    Finding,
    FindingConfirmation,
    Hazard,
    HazardSource,
    HazardState,
    Inspection,
    InspectionPhoto,
    InspectionReview,
    InspectionStatus,
    Unit,
    User,
    utcnow,
)
from checklists import standards

from . import history, numbering, states


class NotApproved(Exception):
    """The outbox row names an inspection that is not approved: a bug, kept in the failed list."""


@dataclass(frozen=True)
class Confirmed:
    finding: Finding
    confirmation: FindingConfirmation
    members: tuple[Confirmed, ...] = ()  # the lead first, then the findings merged into it

    def all(self) -> tuple[Confirmed, ...]:
        return self.members or (self,)


def create_for_inspection(session: Session, inspection_id: uuid.UUID) -> list[Hazard]:
    """The entries this call created (none when they all exist already)."""
    inspection = session.get(Inspection, inspection_id)
    if inspection is None or inspection.status is not InspectionStatus.approved:
        raise NotApproved(f"inspection {inspection_id} is not approved; no ledger entries")
    review = _approval(session, inspection_id)
    todo = _without_entries(session, _confirmed(session, inspection_id))
    if not todo:
        return []
    source = _Source.load(session, inspection, review)
    numbers = numbering.allocate(session, source.district, source.year, len(todo))
    now = utcnow()
    rows = [
        {**source.values(item), "number": number, "created_at": now, "updated_at": now}
        for item, number in zip(todo, numbers, strict=True)
    ]
    created = _insert(session, rows)
    reviewer = session.get(User, review.reviewer_id)
    history.record_many(
        session,
        [(entry, "created", None, None, _created_data(entry)) for entry in created],
        actor=reviewer,
        now=now,
    )
    return created


@dataclass(frozen=True)
class _Source:
    """What every entry of one inspection shares, read once."""

    inspection: Inspection
    review: InspectionReview
    district: uuid.UUID
    year: int
    sector: str
    photos: list[InspectionPhoto]
    rules: dict[str, str]  # rule code -> where it is printed
    clauses: standards.Catalogue

    @classmethod
    def load(cls, session: Session, inspection: Inspection, review: InspectionReview) -> _Source:
        unit = session.get_one(Unit, inspection.unit_id)
        enterprise = session.get_one(Enterprise, inspection.enterprise_id)
        photos = session.scalars(
            select(InspectionPhoto)
            .where(InspectionPhoto.inspection_id == inspection.id)
            .order_by(InspectionPhoto.sha256)
        )
        return cls(
            inspection=inspection,
            review=review,
            district=numbering.district_of(unit),
            year=states.local_date(review.reviewed_at).year,
            sector=enterprise.sector,
            photos=list(photos),
            rules=rule_labels(session, inspection),
            clauses=standards.shipped(),
        )

    def values(self, item: Confirmed) -> dict[str, Any]:
        finding, confirmation, inspection = item.finding, item.confirmation, self.inspection
        parts = item.all()
        clause = self.clauses.get(confirmation.clause) if confirmation.clause else None
        deadlines = [p.confirmation.deadline for p in parts if p.confirmation.deadline]
        deadline = min(deadlines) if deadlines else None
        return {
            "id": uuid.uuid4(),
            "district_id": self.district,
            "finding_id": finding.id,
            "inspection_id": inspection.id,
            "unit_id": inspection.unit_id,
            "enterprise_id": inspection.enterprise_id,
            "sector": finding.sector or self.sector,
            "source": source_of(inspection.kind),
            "level": confirmation.level,
            "rule": confirmation.rule,
            "rule_label": clause.label
            if clause
            else self.rules.get(confirmation.rule, confirmation.rule)
            if confirmation.rule
            else None,
            "clause": confirmation.clause,
            "findings": [str(p.finding.id) for p in parts],
            "override_reason": confirmation.override_reason,
            "description": _joined(p.finding.description for p in parts) or finding.description,
            "requirement": _joined(p.finding.requirement for p in parts),
            "deadline": deadline,
            "original_deadline": deadline,
            "found_on": states.local_date(inspection.started_at or inspection.created_at),
            "before_photos": list(
                dict.fromkeys(sha for p in parts for sha in before_photos(p.finding, self.photos))
            ),
            "after_photos": [],
            "confirmed_by": self.review.reviewer_id,
            "confirmed_at": self.review.reviewed_at,
            "state": HazardState.pending,
            "version": 1,
        }


def _approval(session: Session, inspection_id: uuid.UUID) -> InspectionReview:
    return session.scalars(
        select(InspectionReview)
        .where(
            InspectionReview.inspection_id == inspection_id, InspectionReview.decision == "approve"
        )
        .order_by(InspectionReview.id.desc())
        .limit(1)
    ).one()


def _confirmed(session: Session, inspection_id: uuid.UUID) -> list[Confirmed]:
    rows = session.execute(
        select(Finding, FindingConfirmation)
        .join(FindingConfirmation, FindingConfirmation.finding_id == Finding.id)
        .where(Finding.inspection_id == inspection_id)
        .order_by(Finding.position)
    )
    return _situations([Confirmed(finding, confirmation) for finding, confirmation in rows])


def _situations(confirmed: list[Confirmed]) -> list[Confirmed]:
    """One entry per situation: a lead carries the findings merged into it (merged_into)."""
    merged: dict[uuid.UUID, list[Confirmed]] = {}
    for item in confirmed:
        lead = item.confirmation.merged_into
        if lead is not None:
            merged.setdefault(lead, []).append(item)
    return [
        Confirmed(c.finding, c.confirmation, (c, *merged[c.finding.id]))
        if c.finding.id in merged
        else c
        for c in confirmed
        if c.confirmation.merged_into is None
    ]


def _joined(texts: Iterable[str | None]) -> str | None:
    """The distinct texts of a situation's findings, as one line (；-separated)."""
    distinct = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
    return "；".join(distinct) or None


def _without_entries(session: Session, confirmed: list[Confirmed]) -> list[Confirmed]:
    # Only saves drawing numbers for entries that exist; the unique constraint is the guarantee.
    ids = [c.finding.id for c in confirmed]
    existing = set(session.scalars(select(Hazard.finding_id).where(Hazard.finding_id.in_(ids))))
    return [c for c in confirmed if c.finding.id not in existing]


def source_of(kind: str) -> HazardSource:
    """企业自查 for a self-inspection; everything a department's people record is 部门检查."""
    return HazardSource.self_reported if kind == "self_inspection" else HazardSource.department


def rule_labels(session: Session, inspection: Inspection) -> dict[str, str]:
    """Where each rule of the pinned version is printed, e.g. 《工贸企业重大事故隐患判定标准》
    第十三条（一）. Read from the stored version's rules alone (a worker's job runs in a fresh
    process, where parsing the whole version each time would cost more than the job)."""
    rules = session.scalar(
        select(ChecklistVersion.content["rules"]).where(
            ChecklistVersion.checklist_code == inspection.checklist_code,
            ChecklistVersion.version == inspection.checklist_version,
        )
    )
    return {
        rule["code"]: "".join(
            rule["source"].get(key) or "" for key in ("standard", "article", "item")
        )
        for rule in rules or []
    }


def before_photos(finding: Finding, photos: Iterable[InspectionPhoto]) -> list[str]:
    """The finding's own photos, then the inspection's photos of the items it names."""
    items = set(finding.items)
    named = [p.sha256 for p in photos if p.item and _names_item(p.item, items)]
    return list(dict.fromkeys([*finding.photos, *named]))


def _names_item(code: str, items: Iterable[str]) -> bool:
    return any(code == i or code.startswith(i + ".") or i.startswith(code + ".") for i in items)


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[Hazard]:
    statement = (
        db.insert(session, Hazard)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Hazard.finding_id])
    )
    inserted = set(session.scalars(statement.returning(Hazard.id)))
    # The rows as written; history and change rows read them, nothing writes through them.
    return [Hazard(**row) for row in rows if row["id"] in inserted]


def _created_data(entry: Hazard) -> dict[str, Any]:
    return {
        "inspection_id": entry.inspection_id,
        "finding_id": entry.finding_id,
        "level": entry.level,
        "rule": entry.rule,
        "clause": entry.clause,
        "findings": entry.findings,
        "override_reason": entry.override_reason,
        "deadline": entry.deadline,
        "source": entry.source.value,
    }


def create_for_inspections(session: Session, inspection_ids: list[uuid.UUID]) -> list[Hazard]:
    """`create_for_inspection` for several approved inspections at once, in a number of
    statements that does not grow with them (the worker's batches); numbers are drawn in the
    order given. Any one not approved fails them all (the worker then does them one by one)."""
    inspections = _approved_all(session, inspection_ids)
    reviews = _approvals(session, inspection_ids)
    todo = _without_entries(session, _confirmed_all(session, inspection_ids))
    if not todo:
        return []
    photos: dict[uuid.UUID, list[InspectionPhoto]] = {i: [] for i in inspection_ids}
    for photo in session.scalars(
        select(InspectionPhoto)
        .where(InspectionPhoto.inspection_id.in_(inspection_ids))
        .order_by(InspectionPhoto.sha256)
    ):
        photos[photo.inspection_id].append(photo)
    rules: dict[tuple[str, str], dict[str, str]] = {}
    sources = {}
    for inspection_id in dict.fromkeys(item.finding.inspection_id for item in todo):
        inspection = inspections[inspection_id]
        pinned = (inspection.checklist_code, inspection.checklist_version)
        if pinned not in rules:
            rules[pinned] = rule_labels(session, inspection)
        sources[inspection_id] = _source_of(
            session, inspection, reviews[inspection_id], photos[inspection_id], rules[pinned]
        )
    return _create(session, [(sources[item.finding.inspection_id], item) for item in todo])


def _approved_all(session: Session, inspection_ids: list[uuid.UUID]) -> dict[uuid.UUID, Inspection]:
    found = {
        i.id: i
        for i in session.scalars(select(Inspection).where(Inspection.id.in_(inspection_ids)))
    }
    for inspection_id in inspection_ids:
        inspection = found.get(inspection_id)
        if inspection is None or inspection.status is not InspectionStatus.approved:
            raise NotApproved(f"inspection {inspection_id} is not approved; no ledger entries")
    return found


def _approvals(
    session: Session, inspection_ids: list[uuid.UUID]
) -> dict[uuid.UUID, InspectionReview]:
    latest: dict[uuid.UUID, InspectionReview] = {}
    for review in session.scalars(
        select(InspectionReview)
        .where(
            InspectionReview.inspection_id.in_(inspection_ids),
            InspectionReview.decision == "approve",
        )
        .order_by(InspectionReview.id)
    ):
        latest[review.inspection_id] = review  # the last approval, as `_approval` takes
    return latest


def _confirmed_all(session: Session, inspection_ids: list[uuid.UUID]) -> list[Confirmed]:
    order = {inspection_id: n for n, inspection_id in enumerate(inspection_ids)}
    rows = session.execute(
        select(Finding, FindingConfirmation)
        .join(FindingConfirmation, FindingConfirmation.finding_id == Finding.id)
        .where(Finding.inspection_id.in_(inspection_ids))
    )
    confirmed = [Confirmed(finding, confirmation) for finding, confirmation in rows]
    ordered = sorted(confirmed, key=lambda c: (order[c.finding.inspection_id], c.finding.position))
    return _situations(ordered)


def _source_of(
    session: Session,
    inspection: Inspection,
    review: InspectionReview,
    photos: list[InspectionPhoto],
    rules: dict[str, str],
) -> _Source:
    """As `_Source.load`, with the photos and rule labels already read (units and enterprises
    come from the session's identity map after the first)."""
    unit = session.get_one(Unit, inspection.unit_id)
    enterprise = session.get_one(Enterprise, inspection.enterprise_id)
    return _Source(
        inspection=inspection,
        review=review,
        district=numbering.district_of(unit),
        year=states.local_date(review.reviewed_at).year,
        sector=enterprise.sector,
        photos=photos,
        rules=rules,
        clauses=standards.shipped(),
    )


def _create(session: Session, todo: list[tuple[_Source, Confirmed]]) -> list[Hazard]:
    """Draw the numbers (one counter update per district and year), insert every entry in one
    statement, and their history, each with its reviewer."""
    groups: dict[tuple[uuid.UUID, int], int] = {}
    for source, _item in todo:
        groups[source.district, source.year] = groups.get((source.district, source.year), 0) + 1
    numbers = {
        key: iter(numbering.allocate(session, key[0], key[1], count))
        for key, count in groups.items()
    }
    now = utcnow()
    rows = [
        {
            **source.values(item),
            "number": next(numbers[source.district, source.year]),
            "created_at": now,
            "updated_at": now,
        }
        for source, item in todo
    ]
    created = _insert(session, rows)
    reviewers = {source.inspection.id: source.review.reviewer_id for source, _item in todo}
    by_reviewer: dict[uuid.UUID, list[Hazard]] = {}
    for entry in created:
        by_reviewer.setdefault(reviewers[entry.inspection_id], []).append(entry)
    for reviewer_id, made in by_reviewer.items():
        history.record_many(
            session,
            [(entry, "created", None, None, _created_data(entry)) for entry in made],
            actor=session.get(User, reviewer_id),
            now=now,
        )
    return created

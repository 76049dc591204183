"""Turning an approved inspection's confirmed findings into ledger entries, exactly once.

Run by the worker for the outbox row the approval wrote. The unique `finding_id` is the
guarantee: the insert skips a finding that already has its entry (ON CONFLICT DO NOTHING), so
running this twice, or in two workers at once, still leaves one entry per finding.
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

from . import history, numbering, states


class NotApproved(Exception):
    """The outbox row names an inspection that is not approved: a bug, kept in the failed list."""


@dataclass(frozen=True)
class Confirmed:
    finding: Finding
    confirmation: FindingConfirmation


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
        )

    def values(self, item: Confirmed) -> dict[str, Any]:
        finding, confirmation, inspection = item.finding, item.confirmation, self.inspection
        return {
            "id": uuid.uuid4(),
            "district_id": self.district,
            "finding_id": finding.id,
            "inspection_id": inspection.id,
            "unit_id": inspection.unit_id,
            "enterprise_id": inspection.enterprise_id,
            "sector": self.sector,
            "source": source_of(inspection.kind),
            "level": confirmation.level,
            "rule": confirmation.rule,
            "rule_label": self.rules.get(confirmation.rule, confirmation.rule)
            if confirmation.rule
            else None,
            "override_reason": confirmation.override_reason,
            "description": finding.description,
            "requirement": finding.requirement,
            "deadline": confirmation.deadline,
            "original_deadline": confirmation.deadline,
            "found_on": states.local_date(inspection.started_at or inspection.created_at),
            "before_photos": before_photos(finding, self.photos),
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
    return [Confirmed(finding, confirmation) for finding, confirmation in rows]


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
        "override_reason": entry.override_reason,
        "deadline": entry.deadline,
        "source": entry.source.value,
    }

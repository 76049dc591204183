"""An inspection as stored, read back: its content in the shape of an inspection.save@1
command, and the checklist version it pinned. The push, review, the review queue and the change
log all read inspections this way."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import checklists
from backend.models import ChecklistVersion, Finding, Inspection, InspectionAnswer, InspectionPhoto
from sync.inspections import InspectionSave

# Published versions never change, so each is parsed once per process.
_VERSIONS: dict[tuple[str, str], checklists.ChecklistVersion] = {}


def checklist_version(
    session: Session, code: str, version: str
) -> checklists.ChecklistVersion | None:
    key = (code, version)
    if key not in _VERSIONS:
        content = session.scalar(
            select(ChecklistVersion.content).where(
                ChecklistVersion.checklist_code == code, ChecklistVersion.version == version
            )
        )
        if content is None:
            return None
        _VERSIONS[key] = checklists.ChecklistVersion.from_dict(content)
    return _VERSIONS[key]


def stored_content(session: Session, row: Inspection) -> InspectionSave:
    """An inspection as last saved, in the shape of an inspection.save@1 command."""
    answers = session.scalars(
        select(InspectionAnswer).where(InspectionAnswer.inspection_id == row.id)
    )
    findings = session.scalars(
        select(Finding).where(Finding.inspection_id == row.id).order_by(Finding.position)
    )
    photos = session.scalars(select(InspectionPhoto).where(InspectionPhoto.inspection_id == row.id))
    return InspectionSave(
        id=row.id,
        checklist_code=row.checklist_code,
        checklist_version=row.checklist_version,
        enterprise_id=row.enterprise_id,
        kind=row.kind,
        started_at=row.started_at,
        finished_at=row.finished_at,
        location=row.location,
        inspectors=list(row.inspectors),
        answers=[{"item": a.item, "answer": a.answer, "note": a.note} for a in answers],
        findings=[
            {
                "id": f.id,
                "items": list(f.items),
                "description": f.description,
                "requirement": f.requirement,
                "deadline": "immediate" if f.immediate else f.deadline,
                "claimed_level": f.claimed_level,
                "photos": list(f.photos),
                "sector": f.sector,
            }
            for f in findings
        ],
        photos=[
            {"sha256": p.sha256, "item": p.item, "caption": p.caption, "taken_at": p.taken_at}
            for p in photos
        ],
        signatures=list(row.signatures),
        record=dict(row.record or {}),
    )

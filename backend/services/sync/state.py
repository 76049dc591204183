"""What a batch of commands reads before it decides anything, loaded in bulk."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session

from backend.models import Enterprise, Finding, Inspection, InspectionStatus
from sync.inspections import InspectionSave, Suggestion


@dataclass(frozen=True)
class Snapshot:
    """An inspection right after one command: what that command's change rows carry."""

    content: InspectionSave
    status: InspectionStatus
    version: int
    level: str | None
    suggestions: dict[uuid.UUID, Suggestion]


@dataclass
class Current:
    """One inspection as the batch sees it, updated as its commands apply in order."""

    row: Inspection | None
    status: InspectionStatus = InspectionStatus.draft
    version: int = 0
    edited_version: int = 0
    content: InspectionSave | None = None
    level: str | None = None
    suggestions: dict[uuid.UUID, Suggestion] = field(default_factory=dict)
    content_changed: bool = False
    status_changed: bool = False

    @property
    def exists(self) -> bool:
        return self.row is not None or self.version > 0

    def submit(self) -> None:
        self.status = InspectionStatus.submitted
        self.status_changed = True

    def snapshot(self) -> Snapshot:
        assert self.content is not None
        return Snapshot(self.content, self.status, self.version, self.level, dict(self.suggestions))


@dataclass
class BatchState:
    inspections: dict[uuid.UUID, Current] = field(default_factory=dict)
    enterprise_units: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    enterprise_sectors: dict[uuid.UUID, str] = field(default_factory=dict)
    finding_owners: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


def load(
    session: Session,
    inspection_ids: set[uuid.UUID],
    enterprise_ids: set[uuid.UUID],
    finding_ids: set[uuid.UUID],
) -> BatchState:
    state = BatchState()
    if inspection_ids:
        query = (
            select(Inspection).where(_one_of(Inspection.id, inspection_ids)).order_by(Inspection.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()  # a supervisor's review waits, and vice versa
        for row in session.scalars(query):
            state.inspections[row.id] = Current(
                row=row, status=row.status, version=row.version, edited_version=row.edited_version
            )
    if enterprise_ids:
        rows = session.execute(
            select(Enterprise.id, Enterprise.unit_id, Enterprise.sector).where(
                _one_of(Enterprise.id, enterprise_ids)
            )
        )
        for r in rows:
            state.enterprise_units[r.id] = r.unit_id
            state.enterprise_sectors[r.id] = r.sector
    if finding_ids:
        rows = session.execute(
            select(Finding.id, Finding.inspection_id).where(_one_of(Finding.id, finding_ids))
        )
        state.finding_owners = {r.id: r.inspection_id for r in rows}
    return state


def _one_of(column: ColumnElement[uuid.UUID], ids: set[uuid.UUID]) -> ColumnElement[bool]:
    """``column IN (...)`` with the ids written into the statement's text.

    A batch's ids differ every time, so PostgreSQL plans each look-up for the ids it is given,
    on the table as it is now. Sent as parameters, the statement text repeats; psycopg prepares
    it on its fifth run and PostgreSQL then reuses a generic plan made while the tables were
    small: a sequential scan comparing every row with each of the 100 parameters in turn (about
    8 ms a push at 10,000 findings, growing with the table until autovacuum re-analyses it).
    With literal values it hashes the list or uses the primary key. The ids are UUIDs parsed
    from the request, so writing them into SQL is safe.
    """
    return column.in_(
        bindparam("ids", sorted(ids), expanding=True, literal_execute=True, unique=True)
    )

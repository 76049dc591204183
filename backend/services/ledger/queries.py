"""Reading the ledger: who may see an entry, the filtered list, and an entry's history.

A hazard is visible where its unit is (scope.py), and also to the supervisors of the unit that
lists it (挂牌督办), who follow it to 销号.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.models import Hazard, HazardEvent, HazardSource, HazardState, Role, Unit, User
from backend.services import scope
from backend.services.pagination import Page, paginate

from . import states


@dataclass(frozen=True)
class Filters:
    unit_id: uuid.UUID | None = None  # the unit and every unit below it
    enterprise_id: uuid.UUID | None = None
    sector: str | None = None
    level: str | None = None
    source: HazardSource | None = None
    state: tuple[HazardState, ...] = ()
    listed: bool | None = None
    overdue: date | None = None  # past the deadline on that date and not rectified
    deadline_from: date | None = None
    deadline_to: date | None = None
    found_from: date | None = None  # the inspection's date (发现日期), inclusive
    found_to: date | None = None


def visible(user: User) -> ColumnElement[bool]:
    """The user's units' entries; and for a supervisor, those their unit lists (挂牌督办): the
    listing unit's inspectors have no part in another unit's hazard (docs/ledger.md)."""
    if user.role is not Role.supervisor:
        return scope.unit_filter(user, Hazard.unit_id)
    return or_(scope.unit_filter(user, Hazard.unit_id), Hazard.listed_unit_id == user.unit_id)


def get_visible(
    session: Session, user: User, hazard_id: uuid.UUID, *, lock: bool = False
) -> Hazard:
    """The entry, or NotFound when it does not exist or the user may not see it."""
    query = select(Hazard).where(Hazard.id == hazard_id, visible(user))
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Hazard)
    entry = session.scalars(query).one_or_none()
    if entry is None:
        raise NotFound(f"Hazard {hazard_id} was not found.")
    return entry


def search(
    session: Session, user: User, filters: Filters, *, limit: int, cursor: str | None
) -> Page[Hazard]:
    query = filtered(session, user, filters)
    return paginate(session, query, [Hazard.number, Hazard.id], limit=limit, cursor=cursor)


def all_matching(session: Session, user: User, filters: Filters) -> Iterator[Hazard]:
    """Every matching entry in ledger order, read in chunks (the export)."""
    query = filtered(session, user, filters).order_by(Hazard.number, Hazard.id)
    yield from session.scalars(query.execution_options(yield_per=500))


def filtered(session: Session, user: User, filters: Filters) -> Select[tuple[Hazard]]:
    query = select(Hazard).where(visible(user))
    if filters.unit_id is not None:
        unit = scope.get_visible_unit(session, user, filters.unit_id)
        below = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))
        query = query.where(Hazard.unit_id.in_(below))
    for column, value in (
        (Hazard.enterprise_id, filters.enterprise_id),
        (Hazard.sector, filters.sector),
        (Hazard.level, filters.level),
        (Hazard.source, filters.source),
    ):
        if value is not None:
            query = query.where(column == value)
    return _dates(_state(query, filters), filters)


def _state(query: Select[tuple[Hazard]], filters: Filters) -> Select[tuple[Hazard]]:
    if filters.state:
        query = query.where(Hazard.state.in_(filters.state))
    if filters.listed is not None:
        listed = Hazard.listed_unit_id.is_not(None)
        query = query.where(listed if filters.listed else ~listed)
    return query


def _dates(query: Select[tuple[Hazard]], filters: Filters) -> Select[tuple[Hazard]]:
    if filters.overdue is not None:
        query = query.where(overdue_on(filters.overdue))
    if filters.deadline_from is not None:
        query = query.where(Hazard.deadline >= filters.deadline_from)
    if filters.deadline_to is not None:
        query = query.where(Hazard.deadline <= filters.deadline_to)
    if filters.found_from is not None:
        query = query.where(Hazard.found_on >= filters.found_from)
    if filters.found_to is not None:
        query = query.where(Hazard.found_on <= filters.found_to)
    return query


def overdue_on(day: date) -> ColumnElement[bool]:
    """Past the deadline in force on `day` and not rectified then.

    Overdue is history: an extension (延期) recorded on or after `day` replaced a deadline that
    was in force on `day`; if that one was before `day`, the entry was overdue that day and
    stays so. (Extensions happen only while 待整改/整改中, so it was not rectified then either.)
    """
    start = datetime.combine(day, time.min, tzinfo=states.CHINA)
    extended_after = (
        select(HazardEvent.id)
        .where(
            HazardEvent.hazard_id == Hazard.id,
            HazardEvent.type == "extended",
            HazardEvent.at >= start,
            HazardEvent.data["deadline_before"].as_string() < day.isoformat(),
        )
        .exists()
    )
    now = and_(Hazard.deadline < day, Hazard.state.in_(states.NOT_RECTIFIED))
    return or_(now, extended_after)


def history(session: Session, hazard_id: uuid.UUID) -> list[HazardEvent]:
    return list(
        session.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.id)
        )
    )


def names(session: Session, model: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """id -> row for the ids given (unit and enterprise names in lists and exports)."""
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}

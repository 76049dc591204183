"""Ledger numbers (隐患编号): YH-<year>-<serial>, per district and year, never reused.

One upsert both creates the counter row and moves it on, and returns the new last number: the
row stays locked until the transaction ends, so two workers numbering in the same district take
turns, and a rolled-back transaction gives its numbers back before anyone saw them. A number,
once committed, is never given out again; a gap is possible only if a constraint refuses an
entry after its number was drawn.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from backend import db
from backend.models import LedgerCounter, ListingCounter, Unit

PREFIX = "YH"


def district_of(unit: Unit) -> uuid.UUID:
    """The top-level unit of `unit` (its path is "/<root id>/.../<own id>/")."""
    return uuid.UUID(unit.path.strip("/").split("/")[0])


def allocate(session: Session, district_id: uuid.UUID, year: int, count: int) -> list[str]:
    if count <= 0:
        return []
    statement = db.insert(session, LedgerCounter).values(
        district_id=district_id, year=year, last=count
    )
    statement = statement.on_conflict_do_update(
        index_elements=[LedgerCounter.district_id, LedgerCounter.year],
        set_={"last": LedgerCounter.last + count},
    ).returning(LedgerCounter.last)
    last = int(session.execute(statement).scalar_one())
    return [format_number(year, n) for n in range(last - count + 1, last + 1)]


def format_number(year: int, serial: int) -> str:
    return f"{PREFIX}-{year}-{serial:06d}"


def listing_number(session: Session, unit: Unit, year: int) -> str:
    """The next 挂牌督办 文号 of the listing unit for the year, e.g. 某某区挂牌督办〔2026〕3号."""
    statement = (
        db.insert(session, ListingCounter)
        .values(unit_id=unit.id, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[ListingCounter.unit_id, ListingCounter.year],
            set_={"last": ListingCounter.last + 1},
        )
        .returning(ListingCounter.last)
    )
    serial = int(session.execute(statement).scalar_one())
    return f"{unit.name}挂牌督办〔{year}〕{serial}号"

"""Numbers of the official notices a hazard bundle prints, per issuing unit, kind and year.

A notice gets its number the first time a bundle shows it and keeps it: the same hazard prints
the same 责令整改通知 number in every bundle, so bundles stay reproducible. The counter works
like the ledger's (one upsert moves it on and locks it to the end of the transaction).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import Notice, NoticeCounter, Unit

RECTIFICATION = "rectification"  # 责令整改通知 / 隐患整改通知书
REINSPECTION = "reinspection"  # 复查意见
LISTING = "listing"  # 挂牌督办

# What the 文号 says after the unit: 〔2026〕责改3号
WORDS = {RECTIFICATION: "责改", REINSPECTION: "复查", LISTING: "督办"}


def number(session: Session, kind: str, subject: str, unit: Unit, year: int) -> str:
    """The notice's 文号, given now if it has none yet."""
    found = _find(session, kind, subject)
    if found is None:
        found = _give(session, kind, subject, unit.id, year)
    return format_number(unit.name if found.unit_id == unit.id else _name(session, found), found)


def format_number(unit_name: str, notice: Notice) -> str:
    return f"{unit_name}〔{notice.year}〕{WORDS[notice.kind]}{notice.serial}号"


def _find(session: Session, kind: str, subject: str) -> Notice | None:
    return session.scalars(
        select(Notice).where(Notice.kind == kind, Notice.subject == subject)
    ).one_or_none()


def _name(session: Session, notice: Notice) -> str:
    return session.get_one(Unit, notice.unit_id).name


def _give(session: Session, kind: str, subject: str, unit_id: uuid.UUID, year: int) -> Notice:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(NoticeCounter)
        .values(unit_id=unit_id, kind=kind, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[NoticeCounter.unit_id, NoticeCounter.kind, NoticeCounter.year],
            set_={"last": NoticeCounter.last + 1},
        )
        .returning(NoticeCounter.last)
    )
    serial = int(session.execute(statement).scalar_one())
    notice = Notice(kind=kind, subject=subject, unit_id=unit_id, year=year, serial=serial)
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:  # another transaction numbered it first: theirs stands
        found = _find(session, kind, subject)
        assert found is not None
        return found
    return notice

"""An answer always belongs to an inspection that exists.

SQLite enforces it with the foreign key the models declare; PostgreSQL with the statement-level
triggers of migration 0007, which must behave like that foreign key (ON DELETE CASCADE,
RESTRICT on id updates), including against concurrent READ COMMITTED transactions.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from backend.models import Inspection, InspectionAnswer
from backend.services import bulk
from tests.factories import make_enterprise, make_unit, make_user

REFUSED = r"(?i)fk_inspection_answers_inspection_id_inspections|foreign key"


def make_inspection(session: Session) -> uuid.UUID:
    unit = make_unit(session)
    user = make_user(session, unit)
    enterprise = make_enterprise(session, unit)
    inspection = Inspection(
        id=uuid.uuid4(),
        unit_id=unit.id,
        enterprise_id=enterprise.id,
        inspector_id=user.id,
        checklist_code="gas",
        checklist_version="v1",
        kind="department_inspection",
    )
    session.add(inspection)
    session.flush()
    return inspection.id


def answers(inspection_id: uuid.UUID, count: int) -> list[dict[str, object]]:
    return [
        {"inspection_id": inspection_id, "item": f"gas.{n}", "answer": "yes", "note": None}
        for n in range(count)
    ]


def count_answers(connection: Connection, inspection_id: uuid.UUID) -> int:
    return int(
        connection.scalar(
            select(func.count()).where(InspectionAnswer.inspection_id == inspection_id)
        )
        or 0
    )


def test_answers_of_an_existing_inspection_are_kept(session: Session) -> None:
    inspection_id = make_inspection(session)
    bulk.insert_rows(session, InspectionAnswer.__table__, answers(inspection_id, 40))  # COPY
    session.execute(insert(InspectionAnswer), answers(inspection_id, 45)[40:])
    assert count_answers(session.connection(), inspection_id) == 45


@pytest.mark.parametrize("rows", [1, 40])  # 40: COPY on PostgreSQL
def test_answers_for_a_missing_inspection_are_refused_whole(session: Session, rows: int) -> None:
    inspection_id = make_inspection(session)
    batch = answers(inspection_id, rows - 1) + answers(uuid.uuid4(), 1)
    with pytest.raises(IntegrityError, match=REFUSED), session.begin_nested():
        bulk.insert_rows(session, InspectionAnswer.__table__, batch)
    assert count_answers(session.connection(), inspection_id) == 0


def test_moving_answers_to_a_missing_inspection_is_refused(session: Session) -> None:
    inspection_id = make_inspection(session)
    session.execute(insert(InspectionAnswer), answers(inspection_id, 3))
    with pytest.raises(IntegrityError, match=REFUSED), session.begin_nested():
        session.execute(
            update(InspectionAnswer)
            .where(InspectionAnswer.item == "gas.1")
            .values(inspection_id=uuid.uuid4())
        )
    assert count_answers(session.connection(), inspection_id) == 3


def test_deleting_inspections_deletes_their_answers(session: Session) -> None:
    kept, deleted = make_inspection(session), make_inspection(session)
    session.execute(insert(InspectionAnswer), answers(kept, 2) + answers(deleted, 3))
    session.execute(text("DELETE FROM inspections WHERE id = :id"), {"id": deleted.hex})
    connection = session.connection()
    assert (count_answers(connection, kept), count_answers(connection, deleted)) == (2, 0)


def test_an_answered_inspection_keeps_its_id(session: Session) -> None:
    inspection_id = make_inspection(session)
    session.execute(insert(InspectionAnswer), answers(inspection_id, 1))
    with pytest.raises(IntegrityError, match=REFUSED), session.begin_nested():
        session.execute(
            update(Inspection).where(Inspection.id == inspection_id).values(id=uuid.uuid4())
        )


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)  # SQLite has no TRUNCATE
def test_truncating_answered_inspections_is_refused(session: Session) -> None:
    inspection_id = make_inspection(session)
    session.execute(insert(InspectionAnswer), answers(inspection_id, 1))
    with pytest.raises(DatabaseError, match="cannot truncate"), session.begin_nested():
        session.execute(text("TRUNCATE inspections CASCADE"))


@pytest.mark.postgres
@pytest.mark.parametrize("live_engine", ["postgres"], indirect=True)
def test_an_inspection_being_answered_cannot_be_deleted_under_the_writer(
    live_engine: Engine,
) -> None:
    """The check locks the inspection as a foreign key does: a delete waits for the writer, and
    then takes the answers with it; answers written after a delete committed are refused."""
    with Session(live_engine) as setup:
        inspection_id = make_inspection(setup)
        setup.commit()

    with Session(live_engine) as writer, live_engine.connect() as deleter:
        bulk.insert_rows(writer, InspectionAnswer.__table__, answers(inspection_id, 40))
        deleter.execute(text("SET lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            deleter.execute(text("DELETE FROM inspections WHERE id = :id"), {"id": inspection_id})
        deleter.rollback()

        done = threading.Event()

        def delete() -> None:
            deleter.execute(text("SET lock_timeout = 0"))
            deleter.execute(text("DELETE FROM inspections WHERE id = :id"), {"id": inspection_id})
            deleter.commit()
            done.set()

        thread = threading.Thread(target=delete)
        thread.start()
        assert not done.wait(0.3)  # waiting for the writer
        writer.commit()
        thread.join(10)
        assert done.is_set()

    with live_engine.connect() as check:
        assert count_answers(check, inspection_id) == 0
    with Session(live_engine) as late, pytest.raises(IntegrityError, match=REFUSED):
        bulk.insert_rows(late, InspectionAnswer.__table__, answers(inspection_id, 40))


@pytest.mark.postgres
@pytest.mark.parametrize("live_engine", ["postgres"], indirect=True)
def test_inspections_are_deleted_only_under_read_committed(live_engine: Engine) -> None:
    """A REPEATABLE READ snapshot would not see answers committed after it began, so the
    cascade could leave them behind: such a delete is refused instead."""
    with Session(live_engine) as setup:
        inspection_id = make_inspection(setup)
        setup.execute(insert(InspectionAnswer), answers(inspection_id, 2))
        setup.commit()
    with live_engine.connect() as connection:
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        with pytest.raises(DatabaseError, match="READ COMMITTED"):
            connection.execute(
                text("DELETE FROM inspections WHERE id = :id"), {"id": inspection_id}
            )
        connection.rollback()
        assert count_answers(connection, inspection_id) == 2

"""Models and migrations must agree, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DatabaseError

from backend.migrate import include_object
from backend.models import AuditEntry, Base


def schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_object": include_object(connection.dialect.name)},
    )
    return list(compare_metadata(context, Base.metadata))


def test_migrations_create_exactly_the_models(connection: Connection) -> None:
    assert schema_diff(connection) == []


def test_a_wrong_migration_is_detected(connection: Connection) -> None:
    # What a migration that forgot a column would leave behind.
    connection.execute(text("ALTER TABLE enterprises DROP COLUMN contact_phone"))
    diff = schema_diff(connection)
    assert any("contact_phone" in repr(d) for d in diff)


@pytest.mark.postgres
def test_a_migration_with_a_wrong_type_is_detected(postgres_engine: Engine) -> None:
    # SQLite keeps no column types to compare, so this is PostgreSQL only.
    with postgres_engine.connect() as connection, connection.begin() as transaction:
        connection.execute(text("ALTER TABLE units ALTER COLUMN name TYPE varchar(20)"))
        assert any("name" in repr(d) for d in schema_diff(connection))
        transaction.rollback()


def test_the_audit_log_refuses_updates_and_deletes(connection: Connection) -> None:
    connection.execute(
        AuditEntry.__table__.insert().values(
            action="x.test", entity_type="x", entity_id="1", data={}, at=text("CURRENT_TIMESTAMP")
        )
    )
    with pytest.raises(DatabaseError, match="append-only"), connection.begin_nested():
        connection.execute(text("UPDATE audit_log SET reason = 'edited'"))
    with pytest.raises(DatabaseError, match="append-only"), connection.begin_nested():
        connection.execute(text("DELETE FROM audit_log"))


@pytest.mark.parametrize("revision", ["0006"])
def test_the_newest_migrations_go_down_and_up_keeping_the_records(
    live_engine: Engine, revision: str
) -> None:
    """Down past the migrations of the sync speed-ups and back, with an answered inspection in
    the database: nothing of it may be lost on the way (a rebuilt SQLite table would cascade)."""
    from sqlalchemy.orm import Session

    from backend import migrate
    from backend.models import InspectionAnswer
    from tests.backend.test_answer_integrity import answers, make_inspection

    with Session(live_engine) as session:
        inspection_id = make_inspection(session)
        session.execute(InspectionAnswer.__table__.insert(), answers(inspection_id, 3))
        session.commit()

    migrate.downgrade(live_engine, revision)
    migrate.upgrade(live_engine)

    with live_engine.connect() as connection:
        assert schema_diff(connection) == []
        kept = connection.execute(
            text("SELECT count(*) FROM inspection_answers WHERE inspection_id = :id"),
            {"id": inspection_id if connection.dialect.name == "postgresql" else inspection_id.hex},
        ).scalar()
    assert kept == 3

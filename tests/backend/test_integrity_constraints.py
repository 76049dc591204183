"""What the database itself refuses, whatever the code above it does (migration 0003)."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DatabaseError

from backend import migrate


def insert_unit(connection: Connection, kind: str, name: str = "区") -> str:
    unit_id = uuid.uuid4().hex
    connection.execute(
        text(
            "INSERT INTO units (id, name, kind, parent_id, path, created_at) "
            "VALUES (:id, :name, :kind, NULL, :path, CURRENT_TIMESTAMP)"
        ),
        {"id": unit_id, "name": name, "kind": kind, "path": f"/{unit_id}/"},
    )
    return unit_id


def insert_user(connection: Connection, unit_id: str, role: str) -> None:
    connection.execute(
        text(
            "INSERT INTO users (id, username, display_name, password_hash, role, unit_id, "
            "active, created_at, password_changed_at) VALUES (:id, :username, 'x', 'x', :role, "
            ":unit_id, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"id": uuid.uuid4().hex, "username": uuid.uuid4().hex, "role": role, "unit_id": unit_id},
    )


def test_a_unit_kind_outside_the_list_is_refused(connection: Connection) -> None:
    insert_unit(connection, "district")
    with pytest.raises(DatabaseError, match="ck_units_unitkind"), connection.begin_nested():
        insert_unit(connection, "province", name="省")
    with pytest.raises(DatabaseError, match="ck_units_unitkind"), connection.begin_nested():
        connection.execute(text("UPDATE units SET kind = 'province'"))


def test_a_role_outside_the_list_is_refused(connection: Connection) -> None:
    unit_id = insert_unit(connection, "district")
    insert_user(connection, unit_id, "admin")
    with pytest.raises(DatabaseError, match="ck_users_role"), connection.begin_nested():
        insert_user(connection, unit_id, "superuser")
    with pytest.raises(DatabaseError, match="ck_users_role"), connection.begin_nested():
        connection.execute(text("UPDATE users SET role = 'superuser'"))


def test_top_level_unit_names_are_unique(connection: Connection) -> None:
    insert_unit(connection, "district", name="同名区")
    with pytest.raises(DatabaseError, match=r"(?i)unique"), connection.begin_nested():
        insert_unit(connection, "district", name="同名区")


@pytest.mark.postgres
def test_the_audit_log_refuses_truncate(postgres_engine: Engine) -> None:
    with postgres_engine.connect() as connection, connection.begin() as transaction:
        with pytest.raises(DatabaseError, match="append-only"), connection.begin_nested():
            connection.execute(text("TRUNCATE audit_log"))
        transaction.rollback()


def test_migration_0003_downgrades_and_upgrades_again(live_engine: Engine) -> None:
    cfg = migrate.alembic_config(live_engine)
    with live_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0002")
    columns = {c["name"] for c in inspect(live_engine).get_columns("users")}
    assert {"failed_logins", "locked_until"} <= columns
    assert not inspect(live_engine).has_table("login_failures")
    migrate.upgrade(live_engine)
    assert inspect(live_engine).has_table("login_failures")

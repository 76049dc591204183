"""integrity fixes: login failures per username, unique top-level unit names, CHECK constraints
for role and unit kind, and an audit log that also refuses TRUNCATE

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("inspector", "supervisor", "admin")
UNIT_KINDS = ("district", "town", "department")
# (constraint, table, column, allowed values), named as the models' Enum(create_constraint=True)
CHECKS = [
    ("ck_users_role", "users", "role", ROLES),
    ("ck_units_unitkind", "units", "kind", UNIT_KINDS),
]


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_failures")),
    )
    # Plain ALTER TABLE DROP COLUMN on both (SQLite >= 3.35): a batch rebuild of `users` would
    # trip the foreign keys that point at it, and they cannot be switched off mid-transaction.
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_logins")
    op.create_index(
        "uq_units_top_level_name",
        "units",
        ["name"],
        unique=True,
        postgresql_where=sa.text("parent_id IS NULL"),
        sqlite_where=sa.text("parent_id IS NULL"),
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_checks()
    else:
        for name, table, column, values in CHECKS:
            op.create_check_constraint(name, table, _in_list(column, values))
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _table, _column, _values in CHECKS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_insert")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        for name, table, _column, _values in CHECKS:
            op.drop_constraint(name, table, type_="check")
    op.drop_index("uq_units_top_level_name", table_name="units")
    op.add_column(
        "users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "users",
        sa.Column("locked_until", backend.models.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.drop_table("login_failures")


def _in_list(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite_checks() -> None:
    # SQLite cannot add a CHECK to an existing table without rebuilding it (see above), so
    # triggers enforce the same rule; TRUNCATE does not exist there.
    for name, table, column, values in CHECKS:
        condition = f"NEW.{_in_list(column, values)}"
        for event in ("insert", "update"):
            on = "INSERT" if event == "insert" else f"UPDATE OF {column}"
            op.execute(
                f"CREATE TRIGGER {name}_{event} BEFORE {on} ON {table} "
                f"WHEN NOT ({condition}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
            )

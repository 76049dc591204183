"""report filings are append-only: a filed 调度表 is restated by a new version, never changed

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A filing is what a unit reported upward and signed: the database itself refuses to change or
# remove one. Filing again is a new row (version + 1, with its reason and differences).
SQLITE_TRIGGERS = [
    """CREATE TRIGGER report_filings_no_update BEFORE UPDATE ON report_filings
       BEGIN SELECT RAISE(ABORT, 'report_filings is append-only'); END""",
    """CREATE TRIGGER report_filings_no_delete BEFORE DELETE ON report_filings
       BEGIN SELECT RAISE(ABORT, 'report_filings is append-only'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION report_filings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'report_filings is append-only'; END $$""",
    """CREATE TRIGGER report_filings_append_only BEFORE UPDATE OR DELETE ON report_filings
       FOR EACH ROW EXECUTE FUNCTION report_filings_append_only()""",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS report_filings_no_update")
        op.execute("DROP TRIGGER IF EXISTS report_filings_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS report_filings_append_only ON report_filings")
        op.execute("DROP FUNCTION IF EXISTS report_filings_append_only()")

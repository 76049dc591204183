"""inspections.edited_version: the version as of the last change someone made

A photo arriving gives an inspection a new version (so pull tells the tablets) without anyone
editing it; a tablet saving from the version before that must not be told its edit conflicts.
Existing rows start with edited_version = version.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("edited_version", sa.Integer(), server_default="1", nullable=False)
        )
    op.execute("UPDATE inspections SET edited_version = version")


def downgrade() -> None:
    # SQLite's own DROP COLUMN: rebuilding the table would drop it first, and with foreign keys
    # on that deletes every answer, finding and photo row with it.
    with op.batch_alter_table("inspections", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("edited_version")

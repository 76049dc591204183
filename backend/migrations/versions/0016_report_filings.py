"""Filed 调度表: the frozen copy a unit files for a period, its versions (restatements)

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-04 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.models.base

revision: str = "0016"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report_filings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("cells", JSON, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("preparer_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("differences", JSON, nullable=False),
        sa.Column("filed_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["preparer_id"], ["users.id"], name=op.f("fk_report_filings_preparer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_report_filings_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_report_filings_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_filings")),
        sa.UniqueConstraint(
            "template_id",
            "unit_id",
            "period_from",
            "period_to",
            "version",
            name=op.f("uq_report_filings_template_id_unit_id_period_from_period_to_version"),
        ),
    )
    op.create_index(
        "ix_report_filings_unit",
        "report_filings",
        ["unit_id", "template_id", "period_to"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_report_filings_unit", table_name="report_filings")
    op.drop_table("report_filings")

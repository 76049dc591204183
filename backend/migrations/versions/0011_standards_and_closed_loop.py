"""Clauses on confirmations and hazards, one situation one major, and the closed loop's records

- inspections.record: the printed header (检查项目, 项目经理, 总监, 检查时间).
- findings.sector: the 行业领域 a hazard was found in, when not the enterprise's.
- findings.suggestion_notes: why the rules suggest what they do (a claimed 重大's missing
  condition, why a defect is only 一般).
- finding_confirmations.clause / merged_into, hazards.clause / findings: every major cites a
  catalogue clause; findings of one inspection confirmed major under one clause are one entry.
- hazards: 一患一策 plan, 挂牌督办 文号/level/要求/期限/摘牌, 企业自查 接报.
- listing_counters: 文号 serials per listing unit and year.

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.models.base

revision: str = "0011"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


# Majors confirmed before this migration cite a checklist rule, not a clause. Each shipped rule
# names its clause by its printed source (checklists/standards/); the rules of the versions
# published before 0011, with the catalogue code of that clause. Fixed here, not imported: a
# migration must not change when the data files do.
RULE_CLAUSES = {
    "confined_space.gmqy2023.13.1": "gmqy2023.13.1",
    "confined_space.gmqy2023.13.2": "gmqy2023.13.2",
    "construction.fhsz2022.10": "fhsz2022.10",
    "construction.fhsz2022.11.1": "fhsz2022.11.1",
    "construction.fhsz2022.11.2": "fhsz2022.11.2",
    "construction.fhsz2022.12": "fhsz2022.12",
    "construction.fhsz2022.13.1": "fhsz2022.13.1",
    "construction.fhsz2022.13.2": "fhsz2022.13.2",
    "gas.czrq2023.6.1": "czrq2023.6.1",
}


def _backfill_clauses() -> None:
    """A major with a rule gets that rule's clause. A major confirmed with no rule (an override)
    keeps none: nobody can say which clause it meets; docs/ledger.md says how to find and
    reclassify those."""
    for table in ("finding_confirmations", "hazards"):
        for rule, clause in RULE_CLAUSES.items():
            op.execute(
                sa.text(
                    f"UPDATE {table} SET clause = :clause "  # noqa: S608 (fixed table names)
                    "WHERE level = 'major' AND clause IS NULL AND rule = :rule"
                ).bindparams(clause=clause, rule=rule)
            )


def upgrade() -> None:
    op.create_table(
        "listing_counters",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_listing_counters_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "year", name=op.f("pk_listing_counters")),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record", _json(), server_default="{}", nullable=False))
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suggestion_notes", _json(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("sector", sa.String(length=40), nullable=True))
    with op.batch_alter_table("finding_confirmations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clause", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("merged_into", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_finding_confirmations_merged_into_findings"),
            "findings",
            ["merged_into"],
            ["id"],
        )
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clause", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("findings", _json(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("plan", _json(), nullable=True))
        batch_op.add_column(sa.Column("listing_number", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("listing_level", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("listing_requirements", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("listing_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("delisted_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("reported_at", backend.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("report_channel", sa.String(length=40), nullable=True))
    _backfill_clauses()


def downgrade() -> None:
    with op.batch_alter_table("hazards", schema=None, recreate="never") as batch_op:
        for name in (
            "report_channel",
            "reported_at",
            "delisted_on",
            "listing_deadline",
            "listing_requirements",
            "listing_level",
            "listing_number",
            "plan",
            "findings",
            "clause",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("finding_confirmations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_finding_confirmations_merged_into_findings"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into")
        batch_op.drop_column("clause")
    with op.batch_alter_table("findings", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("sector")
        batch_op.drop_column("suggestion_notes")
    with op.batch_alter_table("inspections", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("record")
    op.drop_table("listing_counters")

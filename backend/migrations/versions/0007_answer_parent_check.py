"""answers: on PostgreSQL, check an answer's inspection once per statement instead of once per row

The foreign key inspection_answers.inspection_id -> inspections.id ON DELETE CASCADE is replaced,
on PostgreSQL only, by statement-level triggers with transition tables that enforce the same
rule: every inspection a statement writes answers for exists (locked FOR KEY SHARE, as the
foreign key locks it, so it cannot be deleted before the writer commits); deleting inspections
deletes their answers; an answered inspection's id cannot change or be truncated away. A push
writes 2,000 answers for 50 inspections in one COPY: the foreign key made 2,000 checks (~10 ms),
the trigger makes one query over 50 ids (<1 ms). SQLite keeps the foreign key, which costs it
nothing. See docs/decision-answer-integrity.md.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_inspection_answers_inspection_id_inspections"

UPGRADE = [
    f"ALTER TABLE inspection_answers DROP CONSTRAINT {FOREIGN_KEY}",
    """CREATE FUNCTION inspection_answers_parent_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        orphan uuid;
    BEGIN
        SELECT written.inspection_id INTO orphan
        FROM (SELECT DISTINCT inspection_id FROM new_rows) AS written
        LEFT JOIN LATERAL (
            SELECT i.id FROM inspections AS i
            WHERE i.id = written.inspection_id
            FOR KEY SHARE
        ) AS parent ON true
        WHERE parent.id IS NULL
        LIMIT 1;
        IF FOUND THEN
            RAISE foreign_key_violation USING
                MESSAGE = 'insert or update on table "inspection_answers" violates foreign key '
                          'constraint "fk_inspection_answers_inspection_id_inspections"',
                DETAIL = format(
                    'Key (inspection_id)=(%s) is not present in table "inspections".', orphan
                ),
                TABLE = 'inspection_answers',
                CONSTRAINT = 'fk_inspection_answers_inspection_id_inspections';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER inspection_answers_parent_insert AFTER INSERT ON inspection_answers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inspection_answers_parent_check()""",
    """CREATE TRIGGER inspection_answers_parent_update AFTER UPDATE ON inspection_answers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inspection_answers_parent_check()""",
    # ON DELETE CASCADE.
    """CREATE FUNCTION inspections_delete_answers() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM inspection_answers
        WHERE inspection_id IN (SELECT id FROM old_rows);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER inspections_delete_answers AFTER DELETE ON inspections
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inspections_delete_answers()""",
    # ON UPDATE NO ACTION, and TRUNCATE as PostgreSQL refuses it for a referenced table.
    """CREATE FUNCTION inspections_keep_answered() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            IF EXISTS (SELECT 1 FROM inspection_answers) THEN
                RAISE feature_not_supported USING
                    MESSAGE = 'cannot truncate inspections while inspection_answers has rows',
                    HINT = 'Truncate inspection_answers first.';
            END IF;
            RETURN NULL;
        END IF;
        IF EXISTS (SELECT 1 FROM inspection_answers WHERE inspection_id = OLD.id) THEN
            RAISE foreign_key_violation USING
                MESSAGE = 'update on table "inspections" violates foreign key constraint '
                          '"fk_inspection_answers_inspection_id_inspections" '
                          'on table "inspection_answers"',
                DETAIL = format(
                    'Key (id)=(%s) is still referenced from table "inspection_answers".',
                    OLD.id
                ),
                TABLE = 'inspections',
                CONSTRAINT = 'fk_inspection_answers_inspection_id_inspections';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER inspections_keep_answered_ids BEFORE UPDATE OF id ON inspections
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION inspections_keep_answered()""",
    """CREATE TRIGGER inspections_keep_answered_truncate BEFORE TRUNCATE ON inspections
    FOR EACH STATEMENT EXECUTE FUNCTION inspections_keep_answered()""",
]

DOWNGRADE = [
    "DROP TRIGGER inspections_keep_answered_truncate ON inspections",
    "DROP TRIGGER inspections_keep_answered_ids ON inspections",
    "DROP FUNCTION inspections_keep_answered()",
    "DROP TRIGGER inspections_delete_answers ON inspections",
    "DROP FUNCTION inspections_delete_answers()",
    "DROP TRIGGER inspection_answers_parent_update ON inspection_answers",
    "DROP TRIGGER inspection_answers_parent_insert ON inspection_answers",
    "DROP FUNCTION inspection_answers_parent_check()",
    f"""ALTER TABLE inspection_answers ADD CONSTRAINT {FOREIGN_KEY}
    FOREIGN KEY (inspection_id) REFERENCES inspections (id) ON DELETE CASCADE""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)

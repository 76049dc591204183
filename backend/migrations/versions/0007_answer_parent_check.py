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
    # Every UPDATE, not only of inspection_id: PostgreSQL allows no column list with transition
    # tables. The application never updates answers (a save replaces them).
    """CREATE TRIGGER inspection_answers_parent_update AFTER UPDATE ON inspection_answers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inspection_answers_parent_check()""",
    # The two checks below look for answers other transactions may have just committed, which a
    # REPEATABLE READ or SERIALIZABLE snapshot would not show (a foreign key looks past the
    # snapshot; PL/pgSQL cannot), so they run only under READ COMMITTED, the application's
    # level for writes, and refuse anything else rather than leave orphans.
    """CREATE FUNCTION inspections_require_read_committed() RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE feature_not_supported USING
                MESSAGE = 'deleting inspections or changing their ids needs a READ COMMITTED '
                          'transaction (their answers are checked by trigger)';
        END IF;
    END $$""",
    # ON DELETE CASCADE.
    """CREATE FUNCTION inspections_delete_answers() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM inspections_require_read_committed();
        DELETE FROM inspection_answers
        WHERE inspection_id IN (SELECT id FROM old_rows);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER inspections_delete_answers AFTER DELETE ON inspections
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inspections_delete_answers()""",
    # An answered inspection keeps its id (checked row by row: RESTRICT rather than NO ACTION).
    """CREATE FUNCTION inspections_keep_answered_ids() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM inspections_require_read_committed();
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
    EXECUTE FUNCTION inspections_keep_answered_ids()""",
    # TRUNCATE would skip the cascade. Unlike a foreign key, this also refuses
    # `TRUNCATE inspections, inspection_answers`: truncate inspection_answers first.
    """CREATE FUNCTION inspections_refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM inspection_answers) THEN
            RAISE feature_not_supported USING
                MESSAGE = 'cannot truncate inspections while inspection_answers has rows',
                HINT = 'Truncate inspection_answers first.';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER inspections_refuse_truncate BEFORE TRUNCATE ON inspections
    FOR EACH STATEMENT EXECUTE FUNCTION inspections_refuse_truncate()""",
]

DOWNGRADE = [
    "DROP TRIGGER inspections_refuse_truncate ON inspections",
    "DROP FUNCTION inspections_refuse_truncate()",
    "DROP TRIGGER inspections_keep_answered_ids ON inspections",
    "DROP FUNCTION inspections_keep_answered_ids()",
    "DROP TRIGGER inspections_delete_answers ON inspections",
    "DROP FUNCTION inspections_delete_answers()",
    "DROP FUNCTION inspections_require_read_committed()",
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

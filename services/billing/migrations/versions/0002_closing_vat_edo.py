"""Day closing (immutable closed documents, supplementary documents for late lines), EDO
delivery state, partners' legal addresses.

Revision ID: 0002
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        ALTER TABLE "{schema}".partners ADD COLUMN address text;
        ALTER TABLE "{schema}".documents
            ADD COLUMN closed_at timestamptz,
            ADD COLUMN supplement_to text,
            ADD COLUMN edo_status text CHECK (edo_status IN ('sent', 'delivered', 'rejected')),
            ADD COLUMN edo_file text,
            ADD COLUMN edo_message text,
            ADD COLUMN edo_updated_at timestamptz,
            ADD CONSTRAINT documents_amount_not_negative CHECK (amount >= 0),
            ADD CONSTRAINT documents_edo_only_when_closed
                CHECK (edo_status IS NULL OR closed_at IS NOT NULL);
        ALTER TABLE "{schema}".documents DROP CONSTRAINT documents_one_per_partner_day;
        CREATE UNIQUE INDEX documents_one_open_per_partner_day
            ON "{schema}".documents (partner_id, date) WHERE closed_at IS NULL;
        CREATE INDEX documents_partner_date ON "{schema}".documents (partner_id, date);
        CREATE INDEX documents_to_close ON "{schema}".documents (date) WHERE closed_at IS NULL;
        CREATE INDEX documents_edo_pending ON "{schema}".documents (closed_at)
            WHERE closed_at IS NOT NULL AND (edo_status IS NULL OR edo_status = 'sent')
        """,
    )
    # Functions contain ';', so they go one statement each, not through execute_script.
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".documents_closed_are_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.closed_at IS NOT NULL AND (
                NEW.closed_at IS DISTINCT FROM OLD.closed_at
                OR (NEW.number, NEW.partner_id, NEW.date, NEW.due_date, NEW.amount,
                    NEW.vat_amount, NEW.line_count, NEW.supplement_to)
                   IS DISTINCT FROM
                   (OLD.number, OLD.partner_id, OLD.date, OLD.due_date, OLD.amount,
                    OLD.vat_amount, OLD.line_count, OLD.supplement_to)
            ) THEN
                RAISE EXCEPTION 'document % is closed and immutable', OLD.number
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER documents_closed_are_immutable BEFORE UPDATE ON "{schema}".documents
        FOR EACH ROW EXECUTE FUNCTION "{schema}".documents_closed_are_immutable()
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".lines_of_closed_documents_are_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            target bigint;
        BEGIN
            target := CASE WHEN TG_OP = 'DELETE' THEN OLD.document_id ELSE NEW.document_id END;
            IF EXISTS (SELECT 1 FROM "{schema}".documents
                       WHERE id = target AND closed_at IS NOT NULL)
               OR (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM "{schema}".documents
                       WHERE id = OLD.document_id AND closed_at IS NOT NULL)) THEN
                RAISE EXCEPTION 'lines of closed document % are immutable', target
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER lines_of_closed_documents_are_immutable
        BEFORE INSERT OR UPDATE OR DELETE ON "{schema}".document_lines
        FOR EACH ROW EXECUTE FUNCTION "{schema}".lines_of_closed_documents_are_immutable()
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

"""Credit lines, reservations, documents' debt, the append-only ledger, terms history.

Revision ID: 0001
"""

from alembic import context, op
from esd_platform.migrations import create_messaging_tables, execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_messaging_tables(op, schema)
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".credit_lines (
            partner_id uuid PRIMARY KEY,
            inn text,
            company_name text,
            credit_limit numeric(14, 2) NOT NULL CHECK (credit_limit >= 0),
            term_days integer NOT NULL CHECK (term_days BETWEEN 0 AND 365),
            debt numeric(14, 2) NOT NULL DEFAULT 0 CHECK (debt >= 0),
            reserved numeric(14, 2) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
            unallocated numeric(14, 2) NOT NULL DEFAULT 0 CHECK (unallocated >= 0),
            registered boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX credit_lines_inn ON "{schema}".credit_lines (inn);
        CREATE TABLE "{schema}".terms_history (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".credit_lines (partner_id),
            credit_limit numeric(14, 2) NOT NULL CHECK (credit_limit >= 0),
            term_days integer NOT NULL,
            source text NOT NULL,
            effective_at timestamptz NOT NULL
        );
        CREATE INDEX terms_history_partner ON "{schema}".terms_history (partner_id, effective_at);
        CREATE TABLE "{schema}".reservations (
            order_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".credit_lines (partner_id),
            amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
            state text NOT NULL CHECK (state IN ('held', 'captured', 'released')),
            document_number text,
            due_date date,
            created_at timestamptz NOT NULL,
            finished_at timestamptz,
            CHECK ((state = 'captured') = (document_number IS NOT NULL))
        );
        CREATE INDEX reservations_held ON "{schema}".reservations (partner_id)
            WHERE state = 'held';
        CREATE TABLE "{schema}".documents (
            partner_id uuid NOT NULL REFERENCES "{schema}".credit_lines (partner_id),
            number text NOT NULL,
            document_date date NOT NULL,
            due_date date NOT NULL,
            amount numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
            paid numeric(14, 2) NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
            PRIMARY KEY (partner_id, number)
        );
        CREATE INDEX documents_open ON "{schema}".documents (partner_id, due_date)
            WHERE paid < amount;
        CREATE TABLE "{schema}".ledger (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".credit_lines (partner_id),
            kind text NOT NULL CHECK (kind IN ('reservation', 'release', 'capture',
                'document_debt', 'payment', 'allocation')),
            amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
            recorded_at timestamptz NOT NULL,
            order_id uuid,
            document_number text,
            document_date date,
            due_date date,
            payment_id uuid
        );
        CREATE INDEX ledger_partner ON "{schema}".ledger (partner_id, recorded_at, id)
        """,
    )
    # the ledger is append-only: a change to a past entry is a bug, and must fail loudly
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the credit ledger is append-only';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON "{schema}".ledger
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".ledger_append_only()
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

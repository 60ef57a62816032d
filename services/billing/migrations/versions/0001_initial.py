"""Partners' details and terms history, documents with their lines, the yearly number counter,
and the messaging tables.

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
        CREATE TABLE "{schema}".partners (
            partner_id uuid PRIMARY KEY,
            reseller_id text NOT NULL,
            company_name text NOT NULL,
            inn text NOT NULL,
            kpp text,
            registered_at timestamptz NOT NULL
        );
        CREATE INDEX partners_inn ON "{schema}".partners (inn);
        CREATE TABLE "{schema}".credit_terms (
            partner_id uuid NOT NULL,
            effective_from timestamptz NOT NULL,
            effective_day date NOT NULL,
            term_days integer NOT NULL CHECK (term_days >= 0),
            source_message_id uuid NOT NULL UNIQUE,
            PRIMARY KEY (partner_id, effective_from, source_message_id)
        );
        CREATE TABLE "{schema}".document_counters (
            year integer PRIMARY KEY,
            last_number integer NOT NULL CHECK (last_number >= 0)
        );
        CREATE TABLE "{schema}".documents (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            number text NOT NULL UNIQUE,
            partner_id uuid NOT NULL,
            date date NOT NULL,
            due_date date NOT NULL,
            amount numeric(16, 2) NOT NULL DEFAULT 0,
            vat_amount numeric(16, 2) NOT NULL DEFAULT 0,
            line_count integer NOT NULL DEFAULT 0,
            paid_amount numeric(16, 2) NOT NULL DEFAULT 0 CHECK (paid_amount >= 0),
            created_at timestamptz NOT NULL,
            CONSTRAINT documents_one_per_partner_day UNIQUE (partner_id, date)
        );
        CREATE INDEX documents_date ON "{schema}".documents (date);
        CREATE TABLE "{schema}".document_lines (
            order_id uuid PRIMARY KEY,
            document_id bigint NOT NULL REFERENCES "{schema}".documents (id),
            position integer NOT NULL,
            sku text NOT NULL,
            name text NOT NULL,
            quantity integer NOT NULL CHECK (quantity > 0),
            unit_price numeric(14, 2) NOT NULL,
            amount numeric(16, 2) NOT NULL,
            vat_rate text NOT NULL,
            vat_amount numeric(16, 2) NOT NULL,
            shipped_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            CONSTRAINT document_lines_position UNIQUE (document_id, position)
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

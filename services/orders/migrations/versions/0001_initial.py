"""Sagas, their history, and the messaging tables.

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
        CREATE TABLE "{schema}".sagas (
            order_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            external_id text NOT NULL,
            sku text NOT NULL,
            name text NOT NULL,
            quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
            unit_price numeric(14, 2) NOT NULL,
            amount numeric(14, 2) NOT NULL,
            vat_rate text NOT NULL,
            vat_amount numeric(14, 2) NOT NULL,
            test boolean NOT NULL,
            key_source text NOT NULL,
            fields jsonb NOT NULL DEFAULT '{{}}',
            state text NOT NULL,
            reason text,
            document_number text,
            key_count integer NOT NULL DEFAULT 0,
            completed_at timestamptz,
            version integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CONSTRAINT sagas_partner_external_id UNIQUE (partner_id, external_id)
        );
        CREATE INDEX sagas_unfinished ON "{schema}".sagas (updated_at)
            WHERE state NOT IN ('completed', 'rejected', 'failed', 'cancelled');
        CREATE TABLE "{schema}".saga_history (
            order_id uuid NOT NULL REFERENCES "{schema}".sagas (order_id),
            version integer NOT NULL,
            state text NOT NULL,
            cause text NOT NULL,
            at timestamptz NOT NULL,
            PRIMARY KEY (order_id, version)
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

"""Partners (applications, partners, API keys), the product replica, partner-facing orders.

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
        CREATE TABLE "{schema}".applications (
            id uuid PRIMARY KEY,
            company_name text NOT NULL,
            inn text NOT NULL,
            kpp text,
            email text NOT NULL,
            region text NOT NULL,
            distributor_reseller_id text,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected')),
            reason text,
            partner_id uuid,
            created_at timestamptz NOT NULL,
            decided_at timestamptz
        );
        CREATE INDEX applications_status ON "{schema}".applications (status, created_at);
        CREATE SEQUENCE "{schema}".reseller_seq;
        CREATE TABLE "{schema}".partners (
            partner_id uuid PRIMARY KEY,
            reseller_id text NOT NULL UNIQUE,
            application_id uuid UNIQUE REFERENCES "{schema}".applications (id),
            company text NOT NULL,
            inn text NOT NULL,
            kpp text,
            email text NOT NULL,
            region text NOT NULL,
            distributor_reseller_id text,
            live boolean NOT NULL DEFAULT false,
            credit_limit numeric(14, 2) NOT NULL,
            term_days integer NOT NULL,
            webhook_secret text NOT NULL,
            created_at timestamptz NOT NULL
        );
        CREATE TABLE "{schema}".api_keys (
            key_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".partners (partner_id),
            key_hash text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL,
            revoked_at timestamptz
        );
        CREATE INDEX api_keys_partner ON "{schema}".api_keys (partner_id);
        CREATE TABLE "{schema}".products (
            sku text PRIMARY KEY,
            revision bigint NOT NULL,
            name text NOT NULL,
            vendor text NOT NULL,
            version text NOT NULL,
            category text NOT NULL,
            kind text NOT NULL,
            base_price numeric(14, 2) NOT NULL,
            vat_rate text NOT NULL,
            required_fields jsonb NOT NULL DEFAULT '[]',
            download_url text NOT NULL,
            key_source text NOT NULL,
            active boolean NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX products_vendor ON "{schema}".products (lower(vendor), sku);
        CREATE TABLE "{schema}".orders (
            id uuid PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".partners (partner_id),
            external_id text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 64),
            fingerprint text NOT NULL,
            sku text NOT NULL,
            name text NOT NULL,
            quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
            unit_price numeric(14, 2) NOT NULL,
            amount numeric(14, 2) NOT NULL,
            vat_rate text NOT NULL,
            vat_amount numeric(14, 2) NOT NULL,
            test boolean NOT NULL,
            fields jsonb NOT NULL DEFAULT '{{}}',
            callback_url text,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'completed', 'rejected', 'failed', 'cancelled')),
            reason text,
            cancel_refused boolean NOT NULL DEFAULT false,
            document_number text,
            created_at timestamptz NOT NULL,
            completed_at timestamptz,
            CONSTRAINT orders_partner_external_id UNIQUE (partner_id, external_id)
        );
        CREATE INDEX orders_partner_created
            ON "{schema}".orders (partner_id, created_at DESC, id DESC)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

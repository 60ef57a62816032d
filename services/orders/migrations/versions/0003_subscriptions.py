"""Subscriptions: last confirmed state, the pending vendor change, and the confirmed history.

Revision ID: 0003_subscriptions
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0003_subscriptions"
down_revision = "0002_saga_vendor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".subscriptions (
            subscription_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            external_id text NOT NULL,
            fingerprint text NOT NULL,
            sku text NOT NULL,
            name text NOT NULL,
            vendor text NOT NULL DEFAULT '',
            monthly_price numeric(14, 2) NOT NULL,
            vat_rate text NOT NULL,
            test boolean NOT NULL,
            status text NOT NULL,
            quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
            tenant_id text,
            pending jsonb,
            vendor_error text,
            sequence integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CONSTRAINT subscriptions_partner_external_id UNIQUE (partner_id, external_id)
        );
        CREATE INDEX subscriptions_by_partner
            ON "{schema}".subscriptions (partner_id, created_at DESC);
        CREATE TABLE "{schema}".subscription_history (
            subscription_id uuid NOT NULL REFERENCES "{schema}".subscriptions (subscription_id),
            sequence integer NOT NULL,
            change text NOT NULL,
            status text NOT NULL,
            quantity integer NOT NULL,
            seats integer NOT NULL,
            effective_date date NOT NULL,
            at timestamptz NOT NULL,
            PRIMARY KEY (subscription_id, sequence)
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

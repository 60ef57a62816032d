"""Subscriptions' projection (every SubscriptionChanged, a row per subscription with how far it
is charged) and the month-end charges, one per subscription and month.

Revision ID: 0004_subscriptions
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0004_subscriptions"
down_revision = "0003"
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
            sku text NOT NULL,
            name text NOT NULL,
            test boolean NOT NULL,
            first_month date NOT NULL,
            charged_through date,
            ended_month date,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX subscriptions_due ON "{schema}".subscriptions
            (coalesce(charged_through, first_month)) WHERE NOT test;
        CREATE TABLE "{schema}".subscription_changes (
            subscription_id uuid NOT NULL
                REFERENCES "{schema}".subscriptions (subscription_id),
            sequence integer NOT NULL CHECK (sequence >= 1),
            message_id uuid NOT NULL UNIQUE,
            change text NOT NULL,
            status text NOT NULL,
            quantity integer NOT NULL CHECK (quantity >= 0),
            seats integer NOT NULL CHECK (seats >= 0),
            monthly_price numeric(14, 2) NOT NULL CHECK (monthly_price >= 0),
            vat_rate text NOT NULL,
            effective_date date NOT NULL,
            received_at timestamptz NOT NULL,
            after_charge boolean NOT NULL DEFAULT false,
            PRIMARY KEY (subscription_id, sequence)
        );
        CREATE TABLE "{schema}".subscription_charges (
            charge_id uuid PRIMARY KEY,
            subscription_id uuid NOT NULL
                REFERENCES "{schema}".subscriptions (subscription_id),
            month date NOT NULL CHECK (extract(day FROM month) = 1),
            partner_id uuid NOT NULL,
            external_id text NOT NULL,
            sku text NOT NULL,
            seat_days integer NOT NULL,
            amount numeric(16, 2) NOT NULL CHECK (amount >= 0),
            vat_rate text NOT NULL,
            vat_amount numeric(16, 2) NOT NULL,
            document_number text,
            document_date date NOT NULL,
            charged_at timestamptz NOT NULL,
            CONSTRAINT subscription_charges_once UNIQUE (subscription_id, month)
        );
        CREATE INDEX subscription_charges_date ON "{schema}".subscription_charges (document_date)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

"""Webhook deliveries: one row per (order, final event), staged in the consumer's transaction
and sent by the gateway's dispatcher with retries and backoff (at least 24 h).

``body`` is the exact JSON that is signed and POSTed, so every retry sends the same bytes.
``claim_id`` names the dispatcher run that has leased the row (next_attempt_at moved ahead);
its result is written only while the claim still holds, so a redeliver in between wins.

Revision ID: 0003_webhooks
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0003_webhooks"
down_revision = ("0002_downloads", "0002_price_rules", "0002_rate_limits")
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".webhook_deliveries (
            id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            order_id uuid NOT NULL,
            event text NOT NULL,
            url text NOT NULL,
            body text NOT NULL,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            streak integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            window_started_at timestamptz,
            last_attempt_at timestamptz,
            last_response_code integer,
            last_error text,
            delivered_at timestamptz,
            claim_id uuid,
            created_at timestamptz NOT NULL,
            CONSTRAINT webhook_deliveries_once UNIQUE (order_id, event)
        );
        CREATE INDEX webhook_deliveries_due ON "{schema}".webhook_deliveries (next_attempt_at)
            WHERE status = 'pending';
        CREATE INDEX webhook_deliveries_partner
            ON "{schema}".webhook_deliveries (partner_id, created_at DESC, id DESC);
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

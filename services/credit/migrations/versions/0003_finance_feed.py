"""The finance feed's journal (credit's copies on finance.events, for the ops replay) and
subscription charges booked as debt (one row per charge id: a repeat adds nothing).

Revision ID: 0003_finance_feed
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0003_finance_feed"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".finance_feed (
            message_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            kind text NOT NULL,
            occurred_at timestamptz NOT NULL,
            day date NOT NULL,
            body text NOT NULL
        );
        CREATE INDEX finance_feed_day ON "{schema}".finance_feed (day, occurred_at);
        CREATE TABLE "{schema}".subscription_debts (
            charge_id uuid PRIMARY KEY,
            subscription_id uuid NOT NULL,
            partner_id uuid NOT NULL REFERENCES "{schema}".credit_lines (partner_id),
            document_number text NOT NULL,
            amount numeric(14, 2) NOT NULL CHECK (amount > 0),
            recorded_at timestamptz NOT NULL
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

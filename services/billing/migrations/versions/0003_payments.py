"""Payments applied to documents (credit's PaymentAllocated), one row per allocation event.

Revision ID: 0003
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".payment_allocations (
            message_id uuid PRIMARY KEY,
            payment_id uuid NOT NULL,
            partner_id uuid NOT NULL,
            document_number text NOT NULL,
            amount numeric(16, 2) NOT NULL CHECK (amount > 0),
            payment_date date NOT NULL,
            applied boolean NOT NULL,
            received_at timestamptz NOT NULL
        );
        CREATE INDEX payment_allocations_document
            ON "{schema}".payment_allocations (document_number)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

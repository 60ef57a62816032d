"""The outbox keeps each message's trace context (W3C traceparent), so a relayed message
continues the trace of the transaction that staged it.

Revision ID: 0090_outbox_traceparent
Revises: 0001
"""

from alembic import context, op
from esd_platform.migrations import add_outbox_traceparent

revision = "0090_outbox_traceparent"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_traceparent(op, context.config.attributes["schema"])


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(f'ALTER TABLE "{schema}".outbox DROP COLUMN IF EXISTS traceparent')

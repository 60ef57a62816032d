"""Messaging tables only: the schema of the platform's own tests."""

from alembic import context, op
from esd_platform.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_messaging_tables(op, schema)
    op.execute(f'CREATE TABLE "{schema}".effects (order_id uuid NOT NULL, amount numeric NOT NULL)')


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

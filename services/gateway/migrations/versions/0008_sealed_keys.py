"""A completed order's keys as the keys service sealed them for the gateway (opened only in
memory, to answer the partner), so reading the order needs no query to the keys service.

Revision ID: 0008_sealed_keys
"""

from alembic import context, op

revision = "0008_sealed_keys"
down_revision = "0007_rate_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(f'ALTER TABLE "{schema}".orders ADD COLUMN sealed_keys text')


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

"""The order's keys as the keys service sealed them for the gateway (the saga cannot open them),
carried from KeysIssued into OrderCompleted.

Revision ID: 0004_saga_sealed_keys
"""

from alembic import context, op

revision = "0004_saga_sealed_keys"
down_revision = "0003_subscriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(f'ALTER TABLE "{schema}".sagas ADD COLUMN sealed_keys text')


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

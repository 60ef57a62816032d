"""Official partners (EDO free of charge for them).

Revision ID: 0005_edo_free
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0005_edo_free"
down_revision = "0004_subscriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f'ALTER TABLE "{schema}".partners ADD COLUMN official boolean NOT NULL DEFAULT false',
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

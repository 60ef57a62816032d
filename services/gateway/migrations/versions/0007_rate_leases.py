"""``rate_buckets.granted``: how many tokens the last take handed out, so that a worker can take
several at once from the shared bucket and spend them without a round trip each
(``gateway.http.hardening.SharedBuckets``).

Revision ID: 0007_rate_leases
"""

from alembic import context, op

revision = "0007_rate_leases"
down_revision = "0006_auth_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(f'ALTER TABLE "{schema}".rate_buckets ADD COLUMN granted integer NOT NULL DEFAULT 0')


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

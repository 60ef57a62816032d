"""Rate-limit buckets shared by every gateway worker (one row per partner or client).

UNLOGGED: after a crash the buckets start full again, which only errs on the caller's side.

Revision ID: 0002_rate_limits
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0002_rate_limits"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE UNLOGGED TABLE "{schema}".rate_buckets (
            key text PRIMARY KEY,
            tokens double precision NOT NULL,
            taken boolean NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

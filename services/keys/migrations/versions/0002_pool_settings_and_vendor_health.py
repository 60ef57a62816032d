"""Pool thresholds (StockLow once per crossing) and each worker's view of vendor health.

Revision ID: 0002
Revises: 0001
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".pool_setting (
            sku text PRIMARY KEY,
            low_threshold integer NOT NULL CHECK (low_threshold >= 0),
            low_alerted boolean NOT NULL DEFAULT false
        );
        CREATE TABLE "{schema}".vendor_health (
            worker text NOT NULL,
            vendor text NOT NULL,
            circuit text NOT NULL CHECK (circuit IN ('closed', 'open', 'half_open')),
            calls integer NOT NULL,
            failures integer NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (worker, vendor)
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

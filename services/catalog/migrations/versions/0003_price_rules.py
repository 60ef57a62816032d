"""Price rules of partners and regional distributors.

Revision ID: 0003
Revises: 0002
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
        CREATE TABLE "{schema}".price_rules (
            scope text NOT NULL CHECK (scope IN ('partner', 'distributor')),
            owner_id uuid NOT NULL,
            revision integer NOT NULL CHECK (revision >= 1),
            adjustments jsonb NOT NULL DEFAULT '[]'::jsonb,
            removed boolean NOT NULL DEFAULT false,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (scope, owner_id)
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

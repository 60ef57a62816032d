"""Download links: every use of a signed link counted per key (and uses after expiry apart).

Revision ID: 0002_downloads
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0002_downloads"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".download_uses (
            key_id uuid PRIMARY KEY,
            order_id uuid NOT NULL,
            uses bigint NOT NULL DEFAULT 0 CHECK (uses >= 0),
            expired_uses bigint NOT NULL DEFAULT 0 CHECK (expired_uses >= 0),
            first_used_at timestamptz NOT NULL,
            last_used_at timestamptz NOT NULL
        );
        CREATE INDEX download_uses_order ON "{schema}".download_uses (order_id)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

"""The product's vendor on each saga, so IssueKeys names the vendor API to call.

Revision ID: 0002_saga_vendor
"""

from alembic import context, op

revision = "0002_saga_vendor"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(f"""ALTER TABLE "{schema}".sagas ADD COLUMN vendor text NOT NULL DEFAULT ''""")


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

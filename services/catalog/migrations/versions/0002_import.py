"""A catch-all category for imported products whose price list names none.

Revision ID: 0002
Revises: 0001
"""

from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(
        f'INSERT INTO "{schema}".categories (id, name, parent_id) '
        "VALUES ('other', 'Прочее', NULL) ON CONFLICT (id) DO NOTHING"
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

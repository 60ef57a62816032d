"""Search matches the names of a product's categories too ('антивирус' finds the antivirus
products): every replicated product's ``search_text`` is written again.

Revision ID: 0009_search_categories
"""

from alembic import context, op

revision = "0009_search_categories"
down_revision = "0008_sealed_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from gateway.adapters.catalog import refresh_search_text

    schema = context.config.attributes["schema"]
    op.execute(f'SET LOCAL search_path TO "{schema}", public')  # the adapter's own SQL
    refresh_search_text(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

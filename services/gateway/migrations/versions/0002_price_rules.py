"""Catalog for partners: price rules replicated from the catalog, and the product replica's
vendor/category ids, category path and normalised search text (partner prices, feeds, search).

Revision ID: 0002_price_rules
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0002_price_rules"
down_revision = "0001"
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
            revision bigint NOT NULL,
            adjustments jsonb NOT NULL DEFAULT '[]',
            removed boolean NOT NULL DEFAULT false,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (scope, owner_id)
        );
        ALTER TABLE "{schema}".products
            ADD COLUMN vendor_id text,
            ADD COLUMN category_id text,
            ADD COLUMN category_path jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN vat_basis text NOT NULL DEFAULT '',
            ADD COLUMN predecessor_sku text,
            ADD COLUMN vendor_key text,
            ADD COLUMN search_text text;
        UPDATE "{schema}".products SET vendor_key = lower(vendor),
            search_text = lower(sku || ' ' || name || ' ' || vendor);
        CREATE INDEX products_vendor_key ON "{schema}".products (vendor_key, sku);
        CREATE INDEX products_updated ON "{schema}".products (updated_at)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

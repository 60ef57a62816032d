"""Vendors, a category tree and products, with the messaging tables.

Revision ID: 0001
Revises:
"""

from alembic import context, op
from esd_platform.migrations import create_messaging_tables, execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_messaging_tables(op, schema)
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".vendors (
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            website text NOT NULL DEFAULT ''
        );
        CREATE TABLE "{schema}".categories (
            id text PRIMARY KEY,
            name text NOT NULL,
            parent_id text REFERENCES "{schema}".categories (id),
            CHECK (parent_id IS NULL OR parent_id <> id)
        );
        CREATE TABLE "{schema}".products (
            sku text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}$'),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
            vendor_id text NOT NULL REFERENCES "{schema}".vendors (id),
            version text NOT NULL DEFAULT '',
            category_id text NOT NULL REFERENCES "{schema}".categories (id),
            kind text NOT NULL CHECK (kind IN ('key', 'subscription')),
            base_price numeric(14, 2) NOT NULL CHECK (base_price >= 0),
            vat_rate text NOT NULL CHECK (vat_rate = 'exempt' OR vat_rate ~ '^[0-9]{{1,2}}$'),
            required_fields jsonb NOT NULL DEFAULT '[]'::jsonb,
            download_url text NOT NULL DEFAULT '',
            key_source text NOT NULL CHECK (key_source IN ('generator', 'pool', 'vendor_api')),
            active boolean NOT NULL DEFAULT true,
            predecessor_sku text REFERENCES "{schema}".products (sku),
            revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX products_vendor ON "{schema}".products (vendor_id);
        CREATE INDEX products_category ON "{schema}".products (category_id);
        CREATE INDEX products_updated ON "{schema}".products (updated_at, sku)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

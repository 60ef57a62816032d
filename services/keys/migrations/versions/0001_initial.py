"""Keys: orders' key sets, issued keys (encrypted, unique by keyed hash) and the key pools.

Revision ID: 0001
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
        CREATE TABLE "{schema}".key_order (
            order_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            sku text NOT NULL,
            quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
            source text NOT NULL CHECK (source IN ('test', 'generator', 'pool', 'vendor_api')),
            status text NOT NULL CHECK (status IN ('pending', 'issued', 'failed')),
            reason text,
            created_at timestamptz NOT NULL
        );
        CREATE TABLE "{schema}".issued_key (
            key_id uuid PRIMARY KEY,
            order_id uuid NOT NULL REFERENCES "{schema}".key_order (order_id),
            position integer NOT NULL,
            partner_id uuid NOT NULL,
            sku text NOT NULL,
            source text NOT NULL,
            key_hash bytea NOT NULL,
            ciphertext text NOT NULL,
            issued_at timestamptz NOT NULL,
            UNIQUE (order_id, position)
        );
        CREATE UNIQUE INDEX issued_key_hash ON "{schema}".issued_key (key_hash);
        CREATE TABLE "{schema}".pool_key (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            sku text NOT NULL,
            key_hash bytea NOT NULL,
            ciphertext text NOT NULL,
            loaded_at timestamptz NOT NULL,
            order_id uuid,
            claimed_at timestamptz,
            CHECK ((order_id IS NULL) = (claimed_at IS NULL))
        );
        CREATE UNIQUE INDEX pool_key_hash ON "{schema}".pool_key (key_hash);
        CREATE INDEX pool_key_free ON "{schema}".pool_key (sku, id) WHERE order_id IS NULL
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

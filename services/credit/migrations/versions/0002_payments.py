"""Payments and their allocations, block announcements, and the limit as a CHECK constraint.

``overdraft`` is how far debt + reserved may legitimately sit above the limit because of
something other than a reservation (ops lowered the limit, say). Every statement except a
reservation recomputes it as ``greatest(0, debt + reserved − limit)``; a reservation leaves it
alone, so the CHECK below makes a reservation beyond the limit impossible even if the
conditional UPDATE were ever wrong.

Revision ID: 0002
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
        ALTER TABLE "{schema}".credit_lines
            ADD COLUMN kpp text,
            ADD COLUMN blocked_since timestamptz,
            ADD COLUMN overdraft numeric(14, 2) NOT NULL DEFAULT 0 CHECK (overdraft >= 0);
        UPDATE "{schema}".credit_lines
            SET overdraft = greatest(0, debt + reserved - credit_limit);
        ALTER TABLE "{schema}".credit_lines ADD CONSTRAINT credit_lines_within_limit
            CHECK (debt + reserved <= credit_limit + overdraft);
        CREATE TABLE "{schema}".payments (
            id uuid PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".credit_lines (partner_id),
            payer_inn text NOT NULL,
            number text NOT NULL,
            payment_date date NOT NULL,
            amount numeric(14, 2) NOT NULL CHECK (amount > 0),
            unallocated numeric(14, 2) NOT NULL CHECK (unallocated >= 0 AND unallocated <= amount),
            purpose text NOT NULL DEFAULT '',
            payer_name text,
            source text NOT NULL,
            posted_at timestamptz NOT NULL,
            UNIQUE (payer_inn, number, payment_date)
        );
        CREATE INDEX payments_partner ON "{schema}".payments (partner_id, payment_date);
        CREATE INDEX payments_unallocated ON "{schema}".payments (partner_id, payment_date)
            WHERE unallocated > 0;
        CREATE TABLE "{schema}".allocations (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            payment_id uuid NOT NULL REFERENCES "{schema}".payments (id),
            partner_id uuid NOT NULL,
            document_number text NOT NULL,
            amount numeric(14, 2) NOT NULL CHECK (amount > 0),
            allocated_at timestamptz NOT NULL,
            FOREIGN KEY (partner_id, document_number)
                REFERENCES "{schema}".documents (partner_id, number)
        );
        CREATE INDEX allocations_payment ON "{schema}".allocations (payment_id, id)
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

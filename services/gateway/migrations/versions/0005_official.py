"""``partners.official``: an official (authorised) partner of the distributor, set by ops at
approval; carried on ``PartnerRegistered.official`` (billing makes its EDO free).

Revision ID: 0005_official
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0005_official"
down_revision = "0004_audit_mail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        ALTER TABLE "{schema}".partners ADD COLUMN official boolean NOT NULL DEFAULT false;
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

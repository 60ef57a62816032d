"""The partner portal: its users (a partner's people, signing in by e-mail and password),
their sessions and one-time set-password links.

Passwords are Argon2id hashes; sessions and set-password links are stored by the SHA-256 of
their random token, never the token itself, so a leaked table signs nobody in.

Revision ID: 0004_portal
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0004_portal"
down_revision = "0003_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".portal_users (
            id uuid PRIMARY KEY,
            partner_id uuid NOT NULL REFERENCES "{schema}".partners (partner_id),
            email text NOT NULL,
            password_hash text,
            created_at timestamptz NOT NULL
        );
        CREATE UNIQUE INDEX portal_users_email ON "{schema}".portal_users (lower(email));
        CREATE TABLE "{schema}".portal_sessions (
            token_hash text PRIMARY KEY,
            role text NOT NULL CHECK (role IN ('partner', 'ops')),
            user_id uuid REFERENCES "{schema}".portal_users (id),
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX portal_sessions_expiry ON "{schema}".portal_sessions (expires_at);
        CREATE TABLE "{schema}".portal_password_links (
            token_hash text PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES "{schema}".portal_users (id),
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at timestamptz
        )
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

"""Onboarding mail, the ops audit log, the contract flag and per-partner request budgets.

``mail_outbox``: one row per e-mail, written in the transaction of the decision that causes it
(approval, rejection, …) and sent by the gateway's mail relay; ``id`` is the mail's identity
(its ``Message-ID`` and its file name in a drop folder), so a resend after a crash or a second
relay never makes a second mail of it. ``claim_id`` names the relay run that leased the row.

``audit_log``: every ops mutation under ``/api/v1/admin`` — who (a fingerprint of the ops
token, never the token), what, on which target, a summary of the request without secrets,
the answer's status. ``seq`` orders it and is the paging cursor.

``partners``: ``contract_number``/``contract_date`` (go-live requires them) and
``rate_per_minute`` (a partner's own request budget; NULL = the gateway's default).

Revision ID: 0004_audit_mail
"""

from alembic import context, op
from esd_platform.migrations import execute_script

revision = "0004_audit_mail"
down_revision = "0003_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".mail_outbox (
            id uuid PRIMARY KEY,
            kind text NOT NULL,
            recipient text NOT NULL,
            subject text NOT NULL,
            body text NOT NULL,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            last_error text,
            sent_at timestamptz,
            transport text,
            claim_id uuid,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX mail_outbox_due ON "{schema}".mail_outbox (next_attempt_at)
            WHERE status = 'pending';
        CREATE TABLE "{schema}".audit_log (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamptz NOT NULL,
            actor text NOT NULL,
            action text NOT NULL,
            target text,
            method text NOT NULL,
            path text NOT NULL,
            status integer NOT NULL,
            summary jsonb NOT NULL DEFAULT '{{}}'::jsonb
        );
        CREATE INDEX audit_log_target ON "{schema}".audit_log (target, seq);
        CREATE INDEX audit_log_action ON "{schema}".audit_log (action, seq);
        ALTER TABLE "{schema}".partners
            ADD COLUMN contract_number text,
            ADD COLUMN contract_date date,
            ADD COLUMN contract_recorded_at timestamptz,
            ADD COLUMN rate_per_minute integer CHECK (rate_per_minute > 0);
        """,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

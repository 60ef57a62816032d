"""Any change to an API key or a partner notifies ``gateway_auth_changed`` on commit, so every
gateway worker drops the API keys it holds in memory (``gateway.adapters.read_caches``): a
trigger, not a call in each code path, so no future write can forget it.

Revision ID: 0006_auth_notify
"""

from alembic import context, op

revision = "0006_auth_notify"
down_revision = "0005_official"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.execute(  # one statement per call: the function body holds semicolons
        f"""
        CREATE FUNCTION "{schema}".notify_auth_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('gateway_auth_changed', TG_TABLE_NAME);
                RETURN NULL;
            END $$
        """
    )
    for table in ("api_keys", "partners"):
        op.execute(
            f"""
            CREATE TRIGGER {table}_auth_changed AFTER UPDATE OR DELETE OR TRUNCATE
                ON "{schema}".{table} FOR EACH STATEMENT
                EXECUTE FUNCTION "{schema}".notify_auth_changed()
            """
        )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")

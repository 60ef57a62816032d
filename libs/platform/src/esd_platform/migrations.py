"""Alembic, run by each service at start on its own schema, under an advisory lock.

A service's ``migrations/env.py`` is just ``from esd_platform.migrations import run_env;
run_env()``; its revisions create their tables with :func:`create_messaging_tables` first.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine


def _upgrade(connection: Connection, schema: str, script_location: Path) -> None:
    connection.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"esd:{schema}"}
    )
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    # "heads": revisions written side by side on one schema (separate features) all apply
    command.upgrade(config, "heads")


_in_process = asyncio.Lock()
"""Alembic's ``context`` is a process-wide proxy: two upgrades interleaving in greenlets would
read each other's configuration, so one process migrates one schema at a time."""


async def migrate(engine: AsyncEngine, schema: str, script_location: Path) -> None:
    """Bring ``schema`` to the newest revision; safe when several instances start together
    (an advisory lock across processes, a lock within one)."""
    async with _in_process, engine.begin() as conn:
        await conn.run_sync(_upgrade, schema, script_location)


def run_env() -> None:
    """Body of every service's ``env.py``: online migrations on the connection we were given."""
    config = context.config
    connection: Connection = config.attributes["connection"]
    schema: str = config.attributes["schema"]
    context.configure(
        connection=connection,
        version_table_schema=schema,
        target_metadata=None,
        include_schemas=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables(op: Any, schema: str) -> None:
    """Outbox, inbox and the test clock's last setting: the same three tables in every schema."""
    execute_script(
        op,
        f"""
        CREATE TABLE "{schema}".outbox (
            id uuid PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            exchange text NOT NULL,
            routing_key text NOT NULL,
            message_type text NOT NULL,
            correlation_id text NOT NULL,
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX outbox_seq ON "{schema}".outbox (seq);
        CREATE TABLE "{schema}".inbox (
            message_id uuid PRIMARY KEY,
            handled_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX inbox_handled_at ON "{schema}".inbox (handled_at);
        CREATE TABLE "{schema}".clock_setting (
            id boolean PRIMARY KEY DEFAULT true CHECK (id),
            now timestamptz NOT NULL,
            set_at timestamptz NOT NULL
        );
        """,
    )


def add_outbox_traceparent(op: Any, schema: str) -> None:
    """The W3C ``traceparent`` of the transaction that staged each outbox row, published as a
    header so the consumer's span continues the trace, whichever process relays the row."""
    op.execute(f'ALTER TABLE "{schema}".outbox ADD COLUMN IF NOT EXISTS traceparent text')


def execute_script(op: Any, sql: str) -> None:
    """Run several ``;``-separated DDL statements (asyncpg prepares one statement at a time).

    Only for our own DDL: a ``;`` inside a string literal or function body would split wrongly.
    """
    for statement in sql.split(";"):
        if statement.strip():
            op.execute(statement)

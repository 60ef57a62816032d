"""Saga persistence: one row per order (locked while a reply is applied) and its history.

The statements every order runs go on the driver's connection
(:class:`esd_platform.db.Statement`); the version guard makes a concurrent change fail.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from esd_platform.db import Statement
from esd_platform.uow import Transaction, dollar_tag
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orders.domain.saga import OrderSaga, State

_COLUMNS = (
    "order_id, partner_id, external_id, sku, name, quantity, unit_price, amount, vat_rate, "
    "vat_amount, test, key_source, fields, state, reason, document_number, key_count, "
    "completed_at, version, vendor, sealed_keys"
)

_INSERT = Statement(
    # the saga and its first history line in one round trip
    f"WITH saga AS (INSERT INTO sagas ({_COLUMNS}, created_at, updated_at) VALUES (:order_id, "
    ":partner_id, :external_id, :sku, :name, :quantity, :unit_price, :amount, :vat_rate, "
    ":vat_amount, :test, :key_source, :fields, :state, :reason, :document_number, :key_count, "
    ":completed_at, :version, :vendor, :sealed_keys, :now, :now) ON CONFLICT DO NOTHING "
    "RETURNING order_id, version, state), "
    "history AS (INSERT INTO saga_history (order_id, version, state, cause, at) "
    "SELECT order_id, version, state, :cause, :now FROM saga) "
    "SELECT order_id FROM saga"
)
_SELECT_FOR_UPDATE = text(f"SELECT {_COLUMNS} FROM sagas WHERE order_id = :order_id FOR UPDATE")
_UPDATE = Statement(
    # the transition and its history lines (one for each state it passed, then its own) in one
    # round trip; the saga's start comes back for the duration metric of a saga that ends here
    "WITH moved AS (UPDATE sagas SET state = :state, reason = :reason, "
    "document_number = :document_number, key_count = :key_count, completed_at = :completed_at, "
    "sealed_keys = :sealed_keys, version = version + :steps, updated_at = :now "
    "WHERE order_id = :order_id AND version = :version "
    "RETURNING order_id, version, state, created_at), "
    "history AS (INSERT INTO saga_history (order_id, version, state, cause, at) "
    "SELECT moved.order_id, moved.version - :steps + passed.n, passed.state, :cause, :now "
    "FROM moved, unnest(CAST(:passed AS text[])) WITH ORDINALITY AS passed(state, n) "
    "UNION ALL SELECT order_id, version, state, :cause, :now FROM moved) "
    "SELECT created_at FROM moved"
)


def _params(saga: OrderSaga) -> dict[str, Any]:
    return {
        "order_id": saga.order_id,
        "partner_id": saga.partner_id,
        "external_id": saga.external_id,
        "sku": saga.sku,
        "name": saga.name,
        "quantity": saga.quantity,
        "unit_price": saga.unit_price,
        "amount": saga.amount,
        "vat_rate": saga.vat_rate,
        "vat_amount": saga.vat_amount,
        "test": saga.test,
        "key_source": saga.key_source,
        "fields": json.dumps(saga.fields),
        "state": saga.state.value,
        "reason": saga.reason,
        "document_number": saga.document_number,
        "key_count": saga.key_count,
        "completed_at": saga.completed_at,
        "version": saga.version,
        "vendor": saga.vendor,
        "sealed_keys": saga.sealed_keys,
    }


async def add(driver: Any, saga: OrderSaga, cause: str) -> bool:
    """Insert a new saga; False when this order (or partner's external id) exists already."""
    params = {**_params(saga), "now": saga.now, "cause": cause}
    return await _INSERT.fetchrow(driver, params) is not None


async def get_for_update(conn: AsyncConnection, order_id: uuid.UUID) -> OrderSaga | None:
    """Load and lock one saga for the rest of the transaction."""
    row = (await conn.execute(_SELECT_FOR_UPDATE, {"order_id": order_id})).mappings().first()
    if row is None:
        return None
    data = dict(row)
    data["state"] = State(data["state"])
    data["fields"] = (
        data["fields"] if isinstance(data["fields"], dict) else json.loads(data["fields"])
    )
    return OrderSaga(**data)


def save_at_commit(tx: Transaction, saga: OrderSaga, cause: str) -> None:
    """:func:`save` sent with the transaction's COMMIT (one round trip fewer per hop); a saga
    changed concurrently fails the commit (a division by zero when no row moved). For a
    transition through one state: only one that ends the saga passes others (:func:`save`)."""
    if saga.now.tzinfo is None:
        raise ValueError("the saga's clock must be timezone-aware")
    if saga.passed:
        raise ValueError("a transition that passed other states is saved with save()")
    texts = [saga.state.value, saga.reason, saga.document_number, saga.sealed_keys, cause]
    tag = dollar_tag(text for text in texts if text is not None)

    def quoted(value: str | None) -> str:
        return "NULL" if value is None else f"{tag}{value}{tag}"

    def moment(value: datetime | None) -> str:
        return "NULL" if value is None else f"{quoted(value.isoformat())}::timestamptz"

    order_id = uuid.UUID(str(saga.order_id))  # only a UUID's own characters are inlined
    now = moment(saga.now)
    tx.at_commit(
        f"WITH moved AS (UPDATE sagas SET state = {quoted(saga.state.value)}, "
        f"reason = {quoted(saga.reason)}, document_number = {quoted(saga.document_number)}, "
        f"key_count = {int(saga.key_count)}, completed_at = {moment(saga.completed_at)}, "
        f"sealed_keys = {quoted(saga.sealed_keys)}, version = version + 1, updated_at = {now} "
        f"WHERE order_id = '{order_id}' AND version = {int(saga.version)} "
        "RETURNING order_id, version, state), "
        "history AS (INSERT INTO saga_history (order_id, version, state, cause, at) "
        f"SELECT order_id, version, state, {quoted(cause)}, {now} FROM moved) "
        "SELECT 1 / (SELECT count(*) FROM moved)"
    )
    saga.version += 1


async def save(driver: Any, saga: OrderSaga, cause: str) -> datetime:
    """Persist a transition (guarded by the version read) and record it in the history;
    returns when the saga started."""
    passed = [state.value for state in saga.passed]
    steps = len(passed) + 1
    params = {**_params(saga), "now": saga.now, "cause": cause, "passed": passed, "steps": steps}
    row = await _UPDATE.fetchrow(driver, params)
    if row is None:
        raise RuntimeError(f"saga {saga.order_id} changed concurrently")
    saga.version += steps
    started: datetime = row["created_at"]
    return started

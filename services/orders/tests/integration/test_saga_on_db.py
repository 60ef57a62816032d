"""The saga's use cases straight on a real PostgreSQL, without the broker: a transition written
with the commit (one round trip fewer per hop) lands whole, any text survives being inlined,
and a saga changed under the handler fails the commit and leaves nothing behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.credit.events import CreditReserved
from esd_contracts.keys.events import KeysIssued
from esd_contracts.orders.commands import PlaceOrder
from esd_platform.clock import Clock
from esd_platform.db import create_engine
from esd_platform.messaging import make_broker
from esd_platform.migrations import migrate
from esd_platform.outbox import Outbox
from esd_platform.settings import PlatformSettings
from esd_platform.uow import UnitOfWork
from orders.adapters import repository
from orders.domain.saga import State
from orders.service_layer import handlers
from sqlalchemy import text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration

MIGRATIONS = Path(repository.__file__).resolve().parents[3] / "migrations"
NASTY = "it's $$ $q0123456789ab$ \\ '' ;COMMIT; -- ёж 🚀 \t\n end"


@pytest.fixture(scope="module")
async def uow() -> AsyncIterator[UnitOfWork]:
    base = os.environ.get("ESD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = make_url(PlatformSettings(database_url=base).sqlalchemy_url)
    name = f"esd_test_ordersdb_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = PlatformSettings(
        database_url=url.set(database=name).render_as_string(hide_password=False)
    )
    engine = create_engine(settings, "orders", "orders")
    try:
        await migrate(engine, "orders", MIGRATIONS)
        outbox = Outbox(engine, make_broker(settings, "orders"), "orders")  # never started
        yield UnitOfWork(engine, outbox, "orders", Clock())
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _place() -> PlaceOrder:
    order_id = uuid.uuid4()
    return PlaceOrder(
        correlation_id=order_id,
        occurred_at=datetime.now(UTC),
        order_id=order_id,
        partner_id=uuid.uuid4(),
        partner_live=True,
        external_id=f"shop-{order_id.hex[:8]}",
        sku="KIS-2Y",
        name="Kaspersky",
        quantity=2,
        unit_price=Decimal("1500.00"),
        amount=Decimal("3000.00"),
        vat_rate="exempt",
        vat_amount=Decimal("0.00"),
        test=False,
        key_source="generator",
    )


def _common(cmd: PlaceOrder) -> dict[str, Any]:
    return {
        "correlation_id": cmd.order_id,
        "occurred_at": datetime.now(UTC),
        "order_id": cmd.order_id,
        "partner_id": cmd.partner_id,
    }


async def _rows(uow: UnitOfWork, sql: str, **params: Any) -> list[Any]:
    async with uow.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def test_transitions_written_with_the_commit_land_whole(uow: UnitOfWork) -> None:
    cmd = _place()
    await handlers.place_order(cmd, uow)
    await handlers.apply_reply(CreditReserved(**_common(cmd), amount=cmd.amount), uow)
    sealed = f"k1:{NASTY}"  # any text the keys service sends is kept as it came
    keys = KeysIssued(**_common(cmd), key_ids=(uuid.uuid4(), uuid.uuid4()), sealed_keys=sealed)
    await handlers.apply_reply(keys, uow)
    shipped = ShipmentRecorded(
        **_common(cmd),
        document_number=NASTY,
        document_date=date(2026, 11, 27),
        due_date=date(2026, 12, 12),
        amount=cmd.amount,
    )
    await handlers.apply_reply(shipped, uow)

    [saga] = await _rows(uow, "SELECT * FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert saga.state == State.BILLED.value
    assert saga.version == 3
    assert saga.key_count == 2
    assert saga.sealed_keys == sealed
    assert saga.document_number == NASTY
    history = await _rows(
        uow,
        "SELECT version, state, cause FROM saga_history WHERE order_id = :o ORDER BY version",
        o=cmd.order_id,
    )
    assert [(h.version, h.cause) for h in history] == [
        (0, "PlaceOrder"),
        (1, "CreditReserved"),
        (2, "KeysIssued"),
        (3, "ShipmentRecorded"),
    ]
    sent = await _rows(
        uow,
        "SELECT message_type FROM outbox WHERE correlation_id = :o ORDER BY seq",
        o=str(cmd.order_id),
    )
    assert [row.message_type.split(".")[1] for row in sent] == [
        "ReserveCredit",
        "IssueKeys",
        "RecordShipment",
        "CaptureCredit",
    ]


async def test_a_saga_changed_under_the_handler_fails_the_commit_and_leaves_nothing(
    uow: UnitOfWork,
) -> None:
    cmd = _place()
    await handlers.place_order(cmd, uow)
    reply = CreditReserved(**_common(cmd), amount=cmd.amount)

    async def stale_transition() -> None:
        async with uow.transaction(reply.message_id) as tx:
            saga = await repository.get_for_update(tx.conn, cmd.order_id)
            assert saga is not None
            tx.publish(*saga.handle(reply, datetime.now(UTC)))
            saga.version += 5  # as if read before another transition landed
            repository.save_at_commit(tx, saga, "CreditReserved")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await stale_transition()

    [saga_row] = await _rows(uow, "SELECT * FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert (saga_row.state, saga_row.version) == (State.ACCEPTED.value, 0)
    assert await _rows(uow, "SELECT 1 FROM inbox WHERE message_id = :m", m=reply.message_id) == []
    sent = await _rows(
        uow, "SELECT message_type FROM outbox WHERE correlation_id = :o", o=str(cmd.order_id)
    )
    assert [row.message_type.split(".")[1] for row in sent] == ["ReserveCredit"]
    # the redelivery applies it
    await handlers.apply_reply(reply, uow)
    [saga_row] = await _rows(uow, "SELECT * FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert saga_row.state == State.CREDIT_RESERVED.value

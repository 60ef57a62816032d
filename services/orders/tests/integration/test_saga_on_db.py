"""The saga's use cases straight on a real PostgreSQL, without the broker: a transition written
with the commit (one round trip fewer per hop) lands whole, any text survives being inlined,
a saga changed under the handler fails the commit and leaves nothing behind, and a saga
this process remembers is moved without reading its row, and correctly when the memory is out
of date."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from esd_contracts.credit.events import CreditCaptured, CreditReserved
from esd_contracts.keys.events import KeysIssued
from esd_contracts.orders.commands import PlaceOrder
from esd_platform.testing import isolated_settings, offline_unit_of_work
from esd_platform.uow import UnitOfWork
from orders.adapters import repository
from orders.adapters.memory import SagaMemory
from orders.domain.saga import OrderSaga, State
from orders.service_layer import handlers
from sqlalchemy import text

from services.orders.tests.unit.test_saga import NOW, place, reply

pytestmark = pytest.mark.integration

MIGRATIONS = Path(repository.__file__).resolve().parents[3] / "migrations"
NASTY = "it's $$ $q0123456789ab$ \\ '' ;COMMIT; -- ёж 🚀 \t\n end"


@pytest.fixture(scope="module")
async def uow() -> AsyncIterator[UnitOfWork]:
    async with (
        isolated_settings() as settings,
        offline_unit_of_work(settings, "orders", MIGRATIONS) as uow,
    ):
        yield uow


def _order() -> tuple[PlaceOrder, OrderSaga]:
    cmd = place().model_copy(update={"external_id": f"shop-{uuid.uuid4().hex[:8]}"})
    return cmd, OrderSaga.accept(cmd, NOW)[0]


async def _rows(uow: UnitOfWork, sql: str, **params: Any) -> list[Any]:
    async with uow.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def _sent(uow: UnitOfWork, cmd: PlaceOrder) -> list[str]:
    """The kinds of message the order's saga staged, in order."""
    rows = await _rows(
        uow,
        "SELECT message_type FROM outbox WHERE correlation_id = :o ORDER BY seq",
        o=str(cmd.order_id),
    )
    return [row.message_type.split(".")[1] for row in rows]


async def test_transitions_written_with_the_commit_land_whole(uow: UnitOfWork) -> None:
    cmd, saga = _order()
    await handlers.place_order(cmd, uow)
    await handlers.apply_reply(reply(CreditReserved, saga), uow)
    sealed = f"k1:{NASTY}"  # any text the keys service sends is kept as it came
    keys = reply(KeysIssued, saga).model_copy(update={"sealed_keys": sealed})
    await handlers.apply_reply(keys, uow)
    # credit captured on billing's document: billed and completed in one transition
    captured = reply(CreditCaptured, saga).model_copy(update={"document_number": NASTY})
    await handlers.apply_reply(captured, uow)

    [row] = await _rows(uow, "SELECT * FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert row.state == State.COMPLETED.value
    assert row.version == 4
    assert row.key_count == cmd.quantity
    assert row.sealed_keys == sealed
    assert row.document_number == NASTY
    history = await _rows(
        uow,
        "SELECT version, state, cause FROM saga_history WHERE order_id = :o ORDER BY version",
        o=cmd.order_id,
    )
    assert [(h.version, h.state, h.cause) for h in history] == [
        (0, "accepted", "PlaceOrder"),
        (1, "credit_reserved", "CreditReserved"),
        (2, "keys_issued", "KeysIssued"),
        (3, "billed", "CreditCaptured"),
        (4, "completed", "CreditCaptured"),
    ]
    assert await _sent(uow, cmd) == [
        "ReserveCredit",
        "IssueKeys",
        "RecordShipment",
        "OrderCompleted",
    ]


async def test_a_saga_changed_under_the_handler_fails_the_commit_and_leaves_nothing(
    uow: UnitOfWork,
) -> None:
    cmd, saga_at_start = _order()
    await handlers.place_order(cmd, uow)
    reserved = reply(CreditReserved, saga_at_start)

    async def stale_transition() -> None:
        async with uow.transaction(reserved.message_id) as tx:
            saga = await repository.get_for_update(tx.conn, cmd.order_id)
            assert saga is not None
            tx.publish(*saga.handle(reserved, datetime.now(UTC)))
            saga.version += 5  # as if read before another transition landed
            repository.save_at_commit(tx, saga, "CreditReserved")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await stale_transition()

    [saga_row] = await _rows(uow, "SELECT * FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert (saga_row.state, saga_row.version) == (State.ACCEPTED.value, 0)
    assert (
        await _rows(uow, "SELECT 1 FROM inbox WHERE message_id = :m", m=reserved.message_id) == []
    )
    assert await _sent(uow, cmd) == ["ReserveCredit"]
    # the redelivery applies it
    await handlers.apply_reply(reserved, uow)
    [saga_row] = await _rows(uow, "SELECT * FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert saga_row.state == State.CREDIT_RESERVED.value


async def test_a_remembered_saga_moves_without_its_row_being_read(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_read(*_: Any) -> None:
        raise AssertionError("the saga's row was read")

    memory = SagaMemory()
    cmd, saga = _order()
    await handlers.place_order(cmd, uow, memory)
    monkeypatch.setattr(repository, "get_for_update", no_read)
    for step in (CreditReserved, KeysIssued):
        await handlers.apply_reply(reply(step, saga), uow, memory)
    assert memory.take(cmd.order_id) is not None
    await handlers.place_order(cmd, uow, memory)  # nothing to keep from a redelivery
    assert memory.take(cmd.order_id) is None

    [row] = await _rows(uow, "SELECT state, version FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert (row.state, row.version) == (State.KEYS_ISSUED.value, 2)


async def test_a_saga_moved_by_another_process_is_moved_once_more_from_its_row(
    uow: UnitOfWork,
) -> None:
    here, elsewhere = SagaMemory(), SagaMemory()
    cmd, saga = _order()
    await handlers.place_order(cmd, uow, here)
    await handlers.apply_reply(reply(CreditReserved, saga), uow, elsewhere)
    # ``here`` still remembers the saga as accepted (version 0): its write fails, the row wins
    await handlers.apply_reply(reply(KeysIssued, saga), uow, here)
    # ``elsewhere`` remembers it as credit reserved (version 1): the row wins again
    await handlers.apply_reply(reply(CreditCaptured, saga), uow, elsewhere)

    [row] = await _rows(uow, "SELECT state, version FROM sagas WHERE order_id = :o", o=cmd.order_id)
    assert (row.state, row.version) == (State.COMPLETED.value, 4)
    history = await _rows(
        uow,
        "SELECT state, cause FROM saga_history WHERE order_id = :o ORDER BY version",
        o=cmd.order_id,
    )
    assert [(h.state, h.cause) for h in history] == [
        ("accepted", "PlaceOrder"),
        ("credit_reserved", "CreditReserved"),
        ("keys_issued", "KeysIssued"),
        ("billed", "CreditCaptured"),
        ("completed", "CreditCaptured"),
    ]
    assert await _sent(uow, cmd) == [
        "ReserveCredit",
        "IssueKeys",
        "RecordShipment",
        "OrderCompleted",
    ]
    assert len(elsewhere) == 0  # a completed saga is not kept

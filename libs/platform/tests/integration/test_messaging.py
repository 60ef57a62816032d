"""The platform's promises on the real broker and database: outbox relays once committed, the
inbox makes redelivery harmless, a poison message ends in its dead-letter queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aio_pika
import asyncpg
import esd_platform.outbox as outbox_module
import pytest
from esd_contracts.credit.commands import ReserveCredit
from esd_contracts.credit.events import CreditRefused
from esd_contracts.topology import DELIVERY_LIMIT
from esd_platform.messaging import consumes, topic_exchange
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings
from faststream.rabbit import RabbitRouter
from sqlalchemy import text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "migrations_fixture"

# what the ``running`` fixture yields: the started service and the order ids its handler saw
Running = tuple[Service, list[uuid.UUID]]


def build(settings: PlatformSettings) -> Running:
    service = Service("credit", migrations=MIGRATIONS, settings=settings)
    router = RabbitRouter()
    seen: list[uuid.UUID] = []

    @consumes(router, "credit", ReserveCredit)
    async def on_reserve(cmd: ReserveCredit) -> None:
        if cmd.amount < 0:
            seen.append(cmd.order_id)  # every delivery of the poison message is counted
            raise ValueError("poison")
        async with service.uow.transaction(cmd.message_id) as tx:
            if tx.duplicate:
                return
            await tx.conn.execute(
                text("INSERT INTO effects VALUES (:o, :a)"), {"o": cmd.order_id, "a": cmd.amount}
            )
        seen.append(cmd.order_id)

    service.include(router)
    return service, seen


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with isolated_settings() as settings:
        service, seen = build(settings)
        await service.start()
        try:
            yield service, seen
        finally:
            await service.stop()


def command(amount: str, order_id: uuid.UUID | None = None, **kw: object) -> ReserveCredit:
    oid = order_id or uuid.uuid4()
    return ReserveCredit(
        correlation_id=oid,
        order_id=oid,
        partner_id=uuid.uuid4(),
        amount=Decimal(amount),
        occurred_at=datetime.now(UTC),
        **kw,
    )


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _zero(value: Awaitable[int]) -> bool:
    return await value == 0


async def count(service: Service, sql: str) -> int:
    async with service.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


class TestOutboxAndInbox:
    async def test_staged_message_is_relayed_after_commit_and_handled_once(
        self, running: Running
    ) -> None:
        service, seen = running
        cmd = command("10.00")
        async with service.uow.transaction() as tx:
            tx.publish(cmd)
        await wait_for(lambda: _true(len(seen) == 1))
        # the sender deletes what it published in batches, a moment after the confirm
        await wait_for(lambda: _zero(count(service, "SELECT count(*) FROM outbox")))
        await asyncio.sleep(0.5)
        assert len(seen) == 1

    async def test_rows_the_fast_path_never_sent_are_relayed(
        self, running: Running, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A process that dies between its commit and its publish: the rows stay, and the relay
        of any instance sends them once they are older than the grace period."""
        service, seen = running
        monkeypatch.setattr(outbox_module, "GRACE", 0.3)
        cmd = command("11.00")
        async with service.engine.begin() as conn:  # committed, but nobody told the fast path
            await service.outbox.stage(conn, [cmd])
        await wait_for(lambda: _true(cmd.order_id in seen))
        await wait_for(lambda: _zero(count(service, "SELECT count(*) FROM outbox")))

    async def test_rolled_back_transaction_publishes_nothing(self, running: Running) -> None:
        service, seen = running

        async def publish_then_fail() -> None:
            async with service.uow.transaction() as tx:
                tx.publish(command("10.00"))
                raise RuntimeError("rollback")

        with pytest.raises(RuntimeError):
            await publish_then_fail()
        await asyncio.sleep(0.7)
        assert seen == []
        assert await count(service, "SELECT count(*) FROM outbox") == 0

    async def test_redelivered_message_has_one_effect(self, running: Running) -> None:
        service, seen = running
        cmd = command("10.00")
        for _ in range(2):  # the same message_id twice, as a relay crash before delete would
            await service.broker.publish(
                cmd.model_dump_json().encode(),
                exchange=topic_exchange(cmd.exchange_name()),
                routing_key=cmd.message_type(),
                persist=True,
                **cmd.envelope(),
            )
        await wait_for(lambda: _true(len(seen) >= 1))
        await asyncio.sleep(0.5)
        assert await count(service, "SELECT count(*) FROM effects") == 1

    async def test_poison_message_is_retried_then_parked_in_the_dead_letter_queue(
        self, running: tuple[Service, list[uuid.UUID]]
    ) -> None:
        service, seen = running
        async with service.uow.transaction() as tx:
            tx.publish(command("-1.00"))
        connection = await aio_pika.connect(service.settings.amqp_url)
        try:
            channel = await connection.channel()
            dlq = await channel.declare_queue("credit.ReserveCredit.dlq", passive=True)

            async def parked() -> bool:
                declared = await channel.declare_queue(dlq.name, passive=True)
                return (declared.declaration_result.message_count or 0) == 1

            await wait_for(parked, timeout=60)
            # retried with backoff up to the delivery limit, not dropped at the first error
            assert len(seen) > DELIVERY_LIMIT // 2
        finally:
            await connection.close()


async def _true(value: bool) -> bool:
    return value


class TestFoldedTransactionEdges:
    """BEGIN travels with the inbox insert and the outbox insert with COMMIT, values inlined."""

    async def test_any_text_reaches_the_outbox_unchanged(self, running: Running) -> None:
        service, _ = running
        await service.outbox.stop()  # keep the rows: nobody publishes or deletes them
        nasty = "it's $$ $q0123456789ab$ \\ \\' '' ;COMMIT; -- ёж 🚀 \t\n end"
        oid = uuid.uuid4()
        event = CreditRefused(
            correlation_id=oid,
            occurred_at=datetime.now(UTC),
            order_id=oid,
            partner_id=uuid.uuid4(),
            reason=nasty,
        )
        async with service.uow.transaction(uuid.uuid4()) as tx:
            tx.publish(event, event)  # staged twice, kept once
        async with service.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, body FROM outbox"))).all()
        assert [(row.id, row.body) for row in rows] == [(event.message_id, event.model_dump_json())]
        assert CreditRefused.model_validate_json(rows[0].body).reason == nasty

    async def test_a_write_put_off_to_commit_lands_or_fails_with_it(self, running: Running) -> None:
        service, _ = running
        kept, failed = uuid.uuid4(), uuid.uuid4()
        async with service.uow.transaction(kept) as tx:
            tx.at_commit(f"INSERT INTO effects VALUES ('{kept}', 7)")
        assert await count(service, f"SELECT count(*) FROM effects WHERE order_id = '{kept}'") == 1

        async def fail_at_commit() -> None:
            async with service.uow.transaction(failed) as tx:
                await tx.conn.execute(text("INSERT INTO effects VALUES (:o, 1)"), {"o": failed})
                tx.at_commit("SELECT 1 / 0")

        with pytest.raises(asyncpg.DivisionByZeroError):
            await fail_at_commit()
        # the effect, the inbox row and the connection's transaction are all gone
        assert (
            await count(service, f"SELECT count(*) FROM effects WHERE order_id = '{failed}'") == 0
        )
        async with service.uow.transaction(failed) as tx:
            assert not tx.duplicate

    async def test_a_repeated_message_id_is_a_duplicate(self, running: Running) -> None:
        service, _ = running
        message_id = uuid.uuid4()
        async with service.uow.transaction(message_id) as tx:
            assert not tx.duplicate
        async with service.uow.transaction(message_id) as tx:
            assert tx.duplicate

    async def test_failed_or_cancelled_transactions_leave_nothing_open(
        self, running: Running
    ) -> None:
        service, _ = running
        failed, cancelled = uuid.uuid4(), uuid.uuid4()

        async def fail() -> None:
            async with service.uow.transaction(failed) as tx:
                await tx.conn.execute(text("INSERT INTO effects VALUES (:o, 1)"), {"o": failed})
                raise RuntimeError("rollback")

        with pytest.raises(RuntimeError):
            await fail()

        async def slow() -> None:
            async with service.uow.transaction(cancelled) as tx:
                await tx.conn.execute(text("INSERT INTO effects VALUES (:o, 2)"), {"o": cancelled})
                await tx.conn.execute(text("SELECT pg_sleep(5)"))

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # neither effect nor inbox row survived, and every pooled connection is usable
        for _ in range(4):
            async with service.uow.transaction(uuid.uuid4()) as tx:
                assert not tx.duplicate
        assert await count(service, "SELECT count(*) FROM effects") == 0
        for message_id in (failed, cancelled):
            async with service.uow.transaction(message_id) as tx:
                assert not tx.duplicate

        async def idle_in_transaction() -> bool:
            stale = await count(
                service,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'",
            )
            return stale == 0

        await wait_for(idle_in_transaction)

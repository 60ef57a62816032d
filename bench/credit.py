"""Credit: reservations per second on one hot credit line and spread over many partners,
captures per second, and parsing and posting a 10,000-payment 1CClientBankExchange statement.

    .venv/bin/python bench/credit.py [--hot 2000] [--partners 1000] [--spread 3000]
                                     [--payments 10000] [--direct]

Starts the credit service as a process of its own (as ``make run`` does) on a fresh database
and vhost. Commands go straight onto ``credit.commands`` (as the order saga's outbox relay sends
them, persistent, with confirms); the answers are counted on a queue of our own bound to
``credit.events``. A rate is commands / (first publish → last answer). The statement is posted
with ``PostBankStatement`` request/reply (what the gateway's ``POST /admin/bank-statements``
sends) and timed to the answer. Payments are spread evenly over the partners, each naming its
partner's document, so the run allocates, books unallocated money and counts a repost once.

``--direct``: the same handlers called in this process on a fresh database with 16 in flight
(the service's prefetch) and no broker: the database's share of the cost, and a way to measure
when the broker cannot make a vhost. Prints the figures; record them in bench/RESULTS.md under
"## credit".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.credit.commands import PostBankStatement, ReserveCredit
from esd_contracts.credit.queries import Balance, GetBalance, PaymentsPosted
from esd_contracts.envelope import Message
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.testing import isolated_settings

_WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
OUR_ACCOUNT = "40702810938000012345"
DAY = date(2026, 11, 27)


def credit_module(name: str) -> Any:
    """A module of the credit service (this file is named ``credit`` too, so its folder leaves
    the import path first)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    if getattr(sys.modules.get("credit"), "__file__", "") == os.path.abspath(__file__):
        sys.modules.pop("credit", None)
    return importlib.import_module(name)


def parse_statement(content: bytes) -> int:
    """Payments credit's own parser reads from ``content``."""
    return len(credit_module("credit.domain.bank_statement").parse(content).payments)


def inn_of(i: int) -> str:
    """A valid 10-digit ИНН per partner."""
    base = f"77{i:07d}"
    control = sum(int(d) * w for d, w in zip(base, _WEIGHTS_10, strict=True)) % 11 % 10
    return base + str(control)


def start_credit(settings: object) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        ESD_ENV="bench",
        ESD_DATABASE_URL=settings.database_url,  # type: ignore[attr-defined]
        ESD_AMQP_URL=settings.amqp_url,  # type: ignore[attr-defined]
        ESD_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen([sys.executable, "-m", "credit"], env=env)


class Bus:
    """One connection: publish contract messages, count credit's events, ask queries."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.last_at = 0.0
        self._waiters: list[tuple[str, int, asyncio.Future[None]]] = []
        self._replies: dict[str, asyncio.Future[bytes]] = {}

    async def start(self, amqp_url: str) -> None:
        self.connection = await aio_pika.connect_robust(amqp_url)
        self.channel = await self.connection.channel(publisher_confirms=True)
        self.query_channel = await self.connection.channel(publisher_confirms=False)
        events = await self.channel.declare_queue("", exclusive=True, auto_delete=True)
        exchange = await self.channel.declare_exchange(
            "credit.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        await events.bind(exchange, routing_key="credit.#")
        await events.consume(self._on_event, no_ack=True)
        replies = await self.query_channel.get_queue("amq.rabbitmq.reply-to", ensure=False)
        await replies.consume(self._on_reply, no_ack=True)
        self.commands = await self.channel.declare_exchange(
            "credit.commands", aio_pika.ExchangeType.TOPIC, durable=True
        )
        self.partners = await self.channel.declare_exchange(
            "partners.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        self.query_commands = await self.query_channel.get_exchange("credit.commands")
        self.query_queries = await self.query_channel.get_exchange("credit.queries")

    async def _on_event(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        kind = (message.type or "..").split(".")[1]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.last_at = time.perf_counter()
        for waiter in list(self._waiters):
            kinds, wanted, future = waiter
            if self.total(*kinds.split(",")) >= wanted and not future.done():
                future.set_result(None)
                self._waiters.remove(waiter)

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = self._replies.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    def total(self, *kinds: str) -> int:
        return sum(self.counts.get(k, 0) for k in kinds)

    async def until(self, kinds: str, wanted: int, seconds: float = 600) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((kinds, wanted, future))
        if self.total(*kinds.split(",")) >= wanted:
            return
        await asyncio.wait_for(future, seconds)

    async def send(
        self, messages: Sequence[Message], exchange: aio_pika.abc.AbstractExchange
    ) -> None:
        for start in range(0, len(messages), 256):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            m.model_dump_json().encode(),
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(m.message_id),
                            correlation_id=str(m.correlation_id),
                            type=m.message_type(),
                        ),
                        routing_key=m.message_type(),
                    )
                    for m in messages[start : start + 256]
                )
            )

    async def ask(
        self, query: Message, exchange: aio_pika.abc.AbstractExchange, seconds: float = 600
    ) -> bytes:
        call = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._replies[call] = future
        await exchange.publish(
            aio_pika.Message(
                query.model_dump_json().encode(),
                content_type="application/json",
                message_id=str(query.message_id),
                correlation_id=call,
                reply_to="amq.rabbitmq.reply-to",
                type=query.message_type(),
            ),
            routing_key=query.message_type(),
        )
        try:
            return await asyncio.wait_for(future, seconds)
        finally:
            self._replies.pop(call, None)


def now() -> datetime:
    return datetime.now(UTC)


def registered(partner_id: uuid.UUID, i: int, limit: Decimal) -> PartnerRegistered:
    return PartnerRegistered(
        correlation_id=partner_id,
        occurred_at=now(),
        partner_id=partner_id,
        reseller_id=f"R-{i:06d}",
        company_name=f'ООО "Партнёр {i}"',
        inn=inn_of(i),
        credit_limit=limit,
        term_days=15,
    )


def reserve(partner_id: uuid.UUID) -> ReserveCredit:
    order = uuid.uuid4()
    return ReserveCredit(
        correlation_id=order, occurred_at=now(), order_id=order, partner_id=partner_id, amount=1
    )


def capture(r: ReserveCredit, partner_index: int) -> ShipmentRecorded:
    return ShipmentRecorded(
        correlation_id=r.order_id,
        occurred_at=now(),
        order_id=r.order_id,
        partner_id=r.partner_id,
        amount=r.amount,
        document_number=document_number(partner_index),
        document_date=DAY - timedelta(days=3),
        due_date=DAY + timedelta(days=12),
    )


def document_number(i: int) -> str:
    return f"ESD-2026-{i + 1:06d}"


def statement(partners: int, payments: int) -> bytes:
    d = DAY.strftime("%d.%m.%Y")
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        f"ДатаНачала={d}",
        f"ДатаКонца={d}",
        f"РасчСчет={OUR_ACCOUNT}",
    ]
    for n in range(payments):
        i = n % partners
        lines += [
            "СекцияДокумент=Платежное поручение",
            f"Номер={n + 1}",
            f"Дата={d}",
            "Сумма=1.00",
            "ПлательщикСчет=40702810400000001111",
            f"Плательщик=ИНН {inn_of(i)} ООО «Партнёр {i}»",
            f"ПлательщикИНН={inn_of(i)}",
            "ПлательщикБИК=044525225",
            f"ПолучательСчет={OUR_ACCOUNT}",
            f"ДатаПоступило={d}",
            "ПолучательИНН=7701234567",
            f"НазначениеПлатежа=Оплата по УПД №{document_number(i)} от {d}. Без налога (НДС)",
            "КонецДокумента",
        ]
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


async def rate(bus: Bus, messages: Sequence[Message], kinds: str) -> tuple[float, float]:
    """(commands per second, seconds) from the first publish to the last answer."""
    before = bus.total(*kinds.split(","))
    started = time.perf_counter()
    await bus.send(messages, bus.commands)
    await bus.until(kinds, before + len(messages))
    seconds = bus.last_at - started
    return len(messages) / seconds, seconds


async def main(args: argparse.Namespace) -> None:
    async with isolated_settings() as settings:
        process = start_credit(settings)
        bus = Bus()
        try:
            for _ in range(300):
                try:
                    await bus.start(settings.amqp_url)
                    await bus.channel.get_exchange("credit.commands", ensure=True)
                    break
                except Exception:
                    await asyncio.sleep(0.2)
            hot = uuid.uuid4()
            spread = [uuid.uuid4() for _ in range(args.partners)]
            regs = [registered(hot, args.partners, Decimal("1000000000"))]
            regs += [registered(p, i, Decimal("1000000")) for i, p in enumerate(spread)]
            await asyncio.sleep(3)  # the service declares its queues on start
            await bus.send(regs, bus.partners)
            await bus.until("CreditTermsSet", len(regs))

            python = sys.version.split()[0]
            print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {python}")
            hot_rate, hot_s = await rate(
                bus, [reserve(hot) for _ in range(args.hot)], "CreditReserved,CreditRefused"
            )
            print(f"reserve, one hot partner: {args.hot} in {hot_s:.2f} s = {hot_rate:.0f}/s")
            orders = [reserve(spread[n % args.partners]) for n in range(args.spread)]
            spread_rate, spread_s = await rate(bus, orders, "CreditReserved,CreditRefused")
            print(
                f"reserve, spread over {args.partners} partners: {args.spread} in "
                f"{spread_s:.2f} s = {spread_rate:.0f}/s"
            )
            index = {p: i for i, p in enumerate(spread)}
            captures = [capture(r, index[r.partner_id]) for r in orders]
            capture_rate, capture_s = await rate(bus, captures, "CreditCaptured")
            print(f"capture, spread: {len(captures)} in {capture_s:.2f} s = {capture_rate:.0f}/s")

            # every payer's credit line must exist before the statement, or its payments are
            # answered unknown_payer (less work: a rosier figure); CreditTermsSet counted above
            # can run ahead of the lines' rows being readable by a new transaction
            gate = asyncio.Semaphore(16)

            async def registered_line(p: uuid.UUID) -> bool:
                query = GetBalance(correlation_id=p, occurred_at=now(), partner_id=p)
                async with gate:
                    try:
                        body = await bus.ask(query, bus.query_queries, seconds=10)
                    except TimeoutError:
                        return False
                return Balance.model_validate_json(body).found

            missing = list(spread)
            for _ in range(30):
                found = await asyncio.gather(*(registered_line(p) for p in missing))
                missing = [p for p, ok in zip(missing, found, strict=True) if not ok]
                if not missing:
                    break
                await asyncio.sleep(0.5)
            assert not missing, f"{len(missing)} partners never registered"

            content = statement(args.partners, args.payments)
            started = time.perf_counter()
            read = parse_statement(content)
            parse_s = time.perf_counter() - started
            assert read == args.payments, read
            print(
                f"statement: {args.payments} payments, {len(content) / 1e6:.1f} MB cp1251; "
                f"parse alone {parse_s:.2f} s"
            )
            for attempt in ("first post", "same file again"):
                query = PostBankStatement(
                    correlation_id=uuid.uuid4(),
                    occurred_at=now(),
                    content_base64=base64.b64encode(content).decode(),
                    filename="bench.txt",
                )
                started = time.perf_counter()
                body = await bus.ask(query, bus.query_commands)
                post_s = time.perf_counter() - started
                answer = PaymentsPosted.model_validate_json(body)
                statuses: dict[str, int] = {}
                for p in answer.payments:
                    statuses[p.status] = statuses.get(p.status, 0) + 1
                print(
                    f"statement {attempt}: parse + post {post_s:.2f} s = "
                    f"{args.payments / post_s:.0f} payments/s; {statuses}, "
                    f"{len(answer.problems)} problems"
                )
            check = await bus.ask(
                GetBalance(correlation_id=spread[0], occurred_at=now(), partner_id=spread[0]),
                bus.query_queries,
            )
            balance = Balance.model_validate_json(check)
            print(f"a spread partner afterwards: debt {balance.debt}, reserved {balance.reserved}")
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
            await asyncio.sleep(0)
            if getattr(bus, "connection", None) is not None:
                await bus.connection.close()


async def in_flight(calls: list[Any], width: int = 16) -> float:
    """Seconds to run the coroutine factories ``calls`` with ``width`` at a time."""
    gate = asyncio.Semaphore(width)

    async def one(call: Any) -> None:
        async with gate:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in calls))
    return time.perf_counter() - started


async def direct(args: argparse.Namespace) -> None:
    """The credit handlers in this process on a fresh database, no broker (outbox rows are
    written as in production; nothing relays them)."""
    import asyncpg
    from esd_platform.db import admin_connect_args
    from esd_platform.migrations import migrate
    from esd_platform.settings import PlatformSettings
    from sqlalchemy.engine import make_url

    bootstrap = credit_module("credit.bootstrap")
    handlers = credit_module("credit.service_layer.handlers")
    receivables = credit_module("credit.service_layer.receivables")
    base = PlatformSettings()
    name = f"esd_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(**admin_connect_args(base))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base.sqlalchemy_url).set(database=name).render_as_string(hide_password=False)
    service = bootstrap.build_service(PlatformSettings(database_url=url, env="bench"))
    try:
        await migrate(service.engine, service.schema, service.migrations)
        uow = service.uow
        python = sys.version.split()[0]
        print(f"direct (no broker): {platform.node()}, {os.cpu_count()} CPUs, Python {python}")
        hot = uuid.uuid4()
        spread = [uuid.uuid4() for _ in range(args.partners)]
        regs = [registered(hot, args.partners, Decimal("1000000000"))]
        regs += [registered(p, i, Decimal("1000000")) for i, p in enumerate(spread)]
        await in_flight([lambda r=r: handlers.register_partner(r, uow) for r in regs])
        hot_orders = [reserve(hot) for _ in range(args.hot)]
        seconds = await in_flight([lambda c=c: handlers.reserve_credit(c, uow) for c in hot_orders])
        print(
            f"reserve, one hot partner: {args.hot} in {seconds:.2f} s = {args.hot / seconds:.0f}/s"
        )
        orders = [reserve(spread[n % args.partners]) for n in range(args.spread)]
        seconds = await in_flight([lambda c=c: handlers.reserve_credit(c, uow) for c in orders])
        print(
            f"reserve, spread over {args.partners} partners: {args.spread} in {seconds:.2f} s = "
            f"{args.spread / seconds:.0f}/s"
        )
        index = {p: i for i, p in enumerate(spread)}
        captures = [capture(r, index[r.partner_id]) for r in orders]
        seconds = await in_flight([lambda c=c: handlers.capture_credit(c, uow) for c in captures])
        print(
            f"capture, spread: {len(captures)} in {seconds:.2f} s = {len(captures) / seconds:.0f}/s"
        )
        content = statement(args.partners, args.payments)
        started = time.perf_counter()
        read = parse_statement(content)
        print(
            f"statement: {read} payments, {len(content) / 1e6:.1f} MB cp1251; parse alone "
            f"{time.perf_counter() - started:.2f} s"
        )
        for attempt in ("first post", "same file again"):
            query = PostBankStatement(
                correlation_id=uuid.uuid4(),
                occurred_at=now(),
                content_base64=base64.b64encode(content).decode(),
                filename="bench.txt",
            )
            started = time.perf_counter()
            answer = await receivables.post_bank_statement(query, uow)
            seconds = time.perf_counter() - started
            statuses: dict[str, int] = {}
            for p in answer.payments:
                statuses[p.status] = statuses.get(p.status, 0) + 1
            print(
                f"statement {attempt}: parse + post {seconds:.2f} s = "
                f"{args.payments / seconds:.0f} payments/s; {statuses}, "
                f"{len(answer.problems)} problems"
            )
        balance = await handlers.get_balance(
            GetBalance(correlation_id=spread[0], occurred_at=now(), partner_id=spread[0]), uow
        )
        print(f"a spread partner afterwards: debt {balance.debt}, reserved {balance.reserved}")
    finally:
        await service.engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hot", type=int, default=2000)
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--spread", type=int, default=3000)
    parser.add_argument("--payments", type=int, default=10000)
    parser.add_argument(
        "--direct", action="store_true", help="call the handlers in process, no broker"
    )
    parsed = parser.parse_args()
    asyncio.run(direct(parsed) if parsed.direct else main(parsed))

"""Property-based: any sequence of reservations, captures, releases, payments and terms changes,
run through the real handlers and SQL on PostgreSQL, leaves the balance equal to a simple model,
the running figures equal to the ledger's fold, and never lets a reservation take more than is
available.

Hypothesis drives synchronous examples, so the database work runs on an event loop of its own
in a helper thread (the engine lives there for the whole module). No broker is needed: the
handlers stage their replies in the outbox, which the test reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import pytest
from credit.adapters import repository
from credit.bootstrap import build_service
from credit.domain.ledger import derive
from credit.service_layer import handlers, receivables
from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.credit.commands import (
    PaymentOrder,
    PostPayments,
    ReleaseCredit,
    ReserveCredit,
    SetCreditTerms,
)
from esd_contracts.credit.queries import Balance, GetBalance
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.migrations import migrate
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import DEFAULT_DATABASE_URL
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

pytestmark = pytest.mark.integration

T = TypeVar("T")
D = Decimal
ZERO = D("0.00")
TERM = 15
AGES = (40, 20, 5, 0)
"""Document i is dated AGES[i] days ago: with a 15-day term, documents 0 and 1 are overdue."""


class Loop:
    """An event loop in a thread, for running coroutines from synchronous hypothesis tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


async def _admin() -> asyncpg.Connection:
    url = make_url(
        PlatformSettings(
            database_url=os.environ.get("ESD_DATABASE_URL", DEFAULT_DATABASE_URL)
        ).sqlalchemy_url
    )
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database="postgres",
    )


@pytest.fixture(scope="module")
def db() -> Iterator[tuple[Loop, Service]]:
    """A fresh database with the credit schema migrated; a service object that is never
    started (no broker): its unit of work, engine and clock are all the handlers need."""
    loop = Loop()
    name = f"esd_test_{uuid.uuid4().hex[:10]}"
    base = os.environ.get("ESD_DATABASE_URL", DEFAULT_DATABASE_URL)
    url = make_url(PlatformSettings(database_url=base).sqlalchemy_url).set(database=name)

    async def create() -> Service:
        admin = await _admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        service = build_service(
            PlatformSettings(env="test", database_url=url.render_as_string(hide_password=False))
        )
        await migrate(service.engine, service.schema, service.migrations)
        return service

    async def drop(service: Service) -> None:
        await service.engine.dispose()
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    service = loop.run(create())
    try:
        yield loop, service
    finally:
        loop.run(drop(service))
        loop.close()


# -- the model ----------------------------------------------------------------------------------


@dataclass
class Model:
    """What the balance must be, computed the simplest way."""

    limit: Decimal
    reserved: Decimal = ZERO
    holds: dict[int, tuple[Decimal, str]] = field(default_factory=dict)
    owed: dict[int, Decimal] = field(default_factory=dict)
    """Per document index: captured minus paid."""
    pool: Decimal = ZERO

    @property
    def debt(self) -> Decimal:
        return sum(self.owed.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        return sum((v for d, v in self.owed.items() if AGES[d] > TERM), ZERO)

    def pay(self, amount: Decimal, named: list[int]) -> None:
        remaining = amount
        order = [d for d in named if d in self.owed]
        order += [d for d in sorted(self.owed, key=lambda d: -AGES[d]) if d not in order]
        for d in order:
            share = min(remaining, self.owed[d])
            self.owed[d] -= share
            remaining -= share
        self.pool += remaining

    def capture(self, index: int, document: int) -> None:
        amount, state = self.holds[index]
        if state != "held":
            return
        self.holds[index] = (amount, "captured")
        self.reserved -= amount
        self.owed[document] = self.owed.get(document, ZERO) + amount
        pool, self.pool = self.pool, ZERO
        self.pay(pool, [])


money = st.decimals(min_value=D("0.01"), max_value=D("5000.00"), places=2)
reserve_op = st.tuples(st.just("reserve"), money)
capture_op = st.tuples(st.just("capture"), st.integers(0, 3), st.integers(0, len(AGES) - 1))
OPERATIONS = {
    "reserve": reserve_op,
    "capture": capture_op,
    "release": st.tuples(st.just("release"), st.integers(0, 3)),
    "pay": st.tuples(st.just("pay"), money, st.lists(st.integers(0, len(AGES) - 1), max_size=2)),
    "terms": st.tuples(st.just("terms"), st.decimals(min_value=0, max_value=D("30000"), places=2)),
}
# weights by repetition: orders and captures are what most sequences are made of
operation = st.sampled_from(
    ["reserve"] * 4 + ["capture"] * 3 + ["release", "pay", "pay", "terms"]
).flatmap(OPERATIONS.__getitem__)


def _now() -> datetime:
    return datetime.now(UTC)


async def _reply(service: Service, order_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    async with service.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT message_type, body FROM outbox WHERE correlation_id = :c "
                    "ORDER BY seq DESC LIMIT 1"
                ),
                {"c": str(order_id)},
            )
        ).one()
    return row.message_type.split(".")[1], json.loads(row.body)


async def _run(service: Service, limit: Decimal, ops: list[tuple[Any, ...]]) -> None:
    uow = service.uow
    partner = uuid.uuid4()
    payer = str(partner.int)[:10]
    await handlers.register_partner(
        PartnerRegistered(
            correlation_id=partner,
            occurred_at=_now(),
            partner_id=partner,
            reseller_id="R-1",
            company_name="ООО Тест",
            inn=payer,
            credit_limit=limit,
            term_days=TERM,
        ),
        uow,
    )
    model = Model(limit=limit)
    orders: list[uuid.UUID] = []
    today = uow.clock.today_moscow()
    for step, op in enumerate(ops):
        kind = op[0]
        if kind == "reserve":
            amount: Decimal = op[1]
            order_id = uuid.uuid4()
            await handlers.reserve_credit(
                ReserveCredit(
                    correlation_id=order_id,
                    occurred_at=_now(),
                    order_id=order_id,
                    partner_id=partner,
                    amount=amount,
                ),
                uow,
            )
            reply, body = await _reply(service, order_id)
            if model.overdue > 0:
                assert (reply, body.get("reason")) == ("CreditRefused", "partner_blocked_overdue")
            elif model.limit - model.debt - model.reserved >= amount:
                assert reply == "CreditReserved"
                model.holds[len(orders)] = (amount, "held")
                model.reserved += amount
                orders.append(order_id)
                # a reservation never takes more than was available
                assert model.debt + model.reserved <= model.limit
            else:
                assert (reply, body.get("reason")) == ("CreditRefused", "credit_limit_exceeded")
        elif kind in ("capture", "release") and orders:
            index = len(orders) - 1 - op[1] % len(orders)  # the latest orders most often
            order_id = orders[index]
            if kind == "capture":
                document = op[2]
                day = today - timedelta(days=AGES[document])
                await handlers.capture_credit(
                    ShipmentRecorded(
                        correlation_id=order_id,
                        occurred_at=_now(),
                        order_id=order_id,
                        partner_id=partner,
                        amount=model.holds[index][0],
                        document_number=f"ESD-2026-{document + 1:06d}",
                        document_date=day,
                        due_date=day + timedelta(days=TERM),
                    ),
                    uow,
                )
                model.capture(index, document)
            else:
                await handlers.release_credit(
                    ReleaseCredit(
                        correlation_id=order_id,
                        occurred_at=_now(),
                        order_id=order_id,
                        partner_id=partner,
                    ),
                    uow,
                )
                amount, state = model.holds[index]
                if state == "held":
                    model.holds[index] = (amount, "released")
                    model.reserved -= amount
        elif kind == "pay":
            amount, named = op[1], op[2]
            purpose = "опл. док. " + ", ".join(str(d + 1) for d in named) if named else "Аванс"
            answer = await receivables.post_payments(
                PostPayments(
                    correlation_id=uuid.uuid4(),
                    occurred_at=_now(),
                    payments=(
                        PaymentOrder(
                            payer_inn=payer,
                            amount=amount,
                            date=today,
                            number=str(step),
                            purpose=purpose,
                        ),
                    ),
                ),
                uow,
            )
            assert answer.payments[0].status == "posted"
            model.pay(amount, named)
        elif kind == "terms":
            await handlers.set_credit_terms(
                SetCreditTerms(
                    correlation_id=partner,
                    occurred_at=_now(),
                    partner_id=partner,
                    limit=op[1],
                    term_days=TERM,
                ),
                uow,
            )
            model.limit = op[1]
        balance = await handlers.get_balance(
            GetBalance(correlation_id=partner, occurred_at=_now(), partner_id=partner), uow
        )
        _assert_matches(balance, model)
    await _assert_ledger_matches_rows(service, partner, model)


def _assert_matches(balance: Balance, model: Model) -> None:
    assert balance.found
    assert balance.limit == model.limit
    assert balance.reserved == model.reserved
    assert balance.debt == model.debt
    assert balance.remainder == model.limit - model.debt
    assert balance.available == model.limit - model.debt - model.reserved
    assert balance.overdue_amount == model.overdue
    assert balance.blocked == (model.overdue > 0)


async def _assert_ledger_matches_rows(service: Service, partner: uuid.UUID, model: Model) -> None:
    now = service.clock.now() + timedelta(seconds=1)
    async with service.engine.connect() as conn:
        entries = await repository.entries_until(conn, partner, now)
        row = (
            await conn.execute(
                text("SELECT debt, reserved, unallocated FROM credit_lines WHERE partner_id = :p"),
                {"p": partner},
            )
        ).one()
    derived = derive(entries, limit=model.limit, today=service.clock.today_moscow())
    assert (derived.figures.debt, derived.figures.reserved, derived.figures.unallocated) == (
        row.debt,
        row.reserved,
        row.unallocated,
    )
    assert derived.figures.unallocated == model.pool
    assert derived.figures.overdue_amount == model.overdue


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # two open documents, one overdue: a partial payment pays the oldest first
    limit=D("10000.00"),
    ops=[
        ("reserve", D("100.00")),
        ("reserve", D("100.00")),
        ("capture", 1, 3),
        ("capture", 0, 0),
        ("pay", D("50.00"), []),
        ("pay", D("60.00"), [3]),
        ("reserve", D("1.00")),
    ],
)
@example(  # money paid ahead is consumed by the next document
    limit=D("5000.00"),
    ops=[
        ("pay", D("700.00"), []),
        ("reserve", D("300.00")),
        ("capture", 0, 0),
        ("reserve", D("500.00")),
        ("capture", 0, 1),
        ("reserve", D("1.00")),
    ],
)
@given(
    limit=st.decimals(min_value=D("1000"), max_value=D("30000"), places=2),
    ops=st.lists(operation, min_size=3, max_size=30),
)
def test_any_sequence_matches_the_model_and_the_ledger(
    db: tuple[Loop, Service], limit: Decimal, ops: list[tuple[Any, ...]]
) -> None:
    loop, service = db
    loop.run(_run(service, limit, ops))


def test_the_checks_guard_the_row_even_against_a_wrong_update(db: tuple[Loop, Service]) -> None:
    """Belt and braces: an UPDATE that skipped the condition still cannot overdraw the line."""
    loop, service = db

    async def overdraw() -> None:
        partner = uuid.uuid4()
        await handlers.register_partner(
            PartnerRegistered(
                correlation_id=partner,
                occurred_at=_now(),
                partner_id=partner,
                reseller_id="R-1",
                company_name="ООО Тест",
                inn="7707083893",
                credit_limit=D("100.00"),
                term_days=TERM,
            ),
            service.uow,
        )
        async with service.engine.begin() as conn:
            await conn.execute(
                text("UPDATE credit_lines SET reserved = reserved + 100.01 WHERE partner_id = :p"),
                {"p": partner},
            )

    with pytest.raises(IntegrityError, match="credit_lines_within_limit"):
        loop.run(overdraw())


def test_lowering_the_limit_below_the_debt_is_allowed_but_blocks_reservations(
    db: tuple[Loop, Service],
) -> None:
    loop, service = db
    loop.run(
        _run(
            service,
            D("1000.00"),
            [
                ("reserve", D("800.00")),
                ("terms", D("500.00")),
                ("reserve", D("0.01")),
                ("release", 0),
                ("reserve", D("500.00")),
            ],
        )
    )

"""The service layer on the real database only (no broker): the handlers are called as the
consumers call them and their replies are read from the outbox. Covers the paths that are hard
to time over the broker: the day closing between look-up and update, a late line's supplement,
the totals check at closing."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from billing.adapters import repository
from billing.bootstrap import build_service
from billing.domain.documents import MOSCOW, ClosingMismatch
from billing.service_layer import closing, handlers
from billing.settings import BillingSettings
from esd_contracts.billing.finance import line_added_id
from esd_platform.migrations import migrate
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .conftest import shipment

pytestmark = pytest.mark.integration


async def _admin(url: Any) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database="postgres",
    )


@pytest.fixture(scope="module")
async def service() -> AsyncIterator[Service]:
    base = os.environ.get("ESD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = make_url(PlatformSettings(database_url=base).sqlalchemy_url)
    name = f"esd_test_billing_db_{uuid.uuid4().hex[:8]}"
    admin = await _admin(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    settings = PlatformSettings(
        env="test", database_url=url.set(database=name).render_as_string(hide_password=False)
    )
    billing = build_service(settings, BillingSettings(background=False))
    await migrate(billing.engine, billing.schema, billing.migrations)
    try:
        yield billing
    finally:
        await billing.engine.dispose()
        admin = await _admin(url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def staged(service: Service, message_type: str, **match: str) -> list[dict[str, Any]]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, body FROM outbox WHERE message_type = :t ORDER BY seq"),
            {"t": message_type},
        )
        bodies = [{**json.loads(r.body), "_id": str(r.id)} for r in rows]
    return [b for b in bodies if all(b.get(k) == v for k, v in match.items())]


def moscow(d: int, hh: int = 12) -> Any:
    from datetime import datetime

    return datetime(2026, 5, d, hh, tzinfo=MOSCOW)


class TestHandlersOnTheDatabase:
    async def test_line_and_its_replies_are_staged_together(self, service: Service) -> None:
        partner = uuid.uuid4()
        cmd = shipment(partner, moscow(1), amount="610.00", vat_rate="22", vat_amount="0")
        await handlers.record_shipment(cmd, service.uow)
        [reply] = await staged(service, "billing.ShipmentRecorded.v1", order_id=str(cmd.order_id))
        [line] = await staged(service, "finance.DocumentLineAdded.v1", order_id=str(cmd.order_id))
        assert line["_id"] == str(line_added_id(cmd.order_id))
        assert (line["vat_rate"], line["vat_amount"]) == ("22", "110.00")
        assert line["document_number"] == reply["document_number"]

    async def test_second_command_for_an_order_answers_without_a_line(
        self, service: Service
    ) -> None:
        partner = uuid.uuid4()
        cmd = shipment(partner, moscow(2))
        await handlers.record_shipment(cmd, service.uow)
        await handlers.record_shipment(
            cmd.model_copy(update={"message_id": uuid.uuid4()}), service.uow
        )
        replies = await staged(service, "billing.ShipmentRecorded.v1", order_id=str(cmd.order_id))
        assert len(replies) == 2
        assert replies[0]["document_number"] == replies[1]["document_number"]
        lines = await staged(service, "finance.DocumentLineAdded.v1", order_id=str(cmd.order_id))
        assert len(lines) == 1

    async def test_day_closed_between_look_up_and_update_puts_the_line_on_a_supplement(
        self, service: Service, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        partner = uuid.uuid4()
        first = shipment(partner, moscow(3, 10))
        await handlers.record_shipment(first, service.uow)
        real_lookup = repository.lookup

        async def lookup_then_close(*args: Any) -> Any:
            found = await real_lookup(*args)
            async with service.engine.begin() as conn:  # the clockwork, in another transaction
                await conn.execute(
                    text("UPDATE documents SET closed_at = now() WHERE partner_id = :p"),
                    {"p": partner},
                )
            return found

        monkeypatch.setattr(repository, "lookup", lookup_then_close)
        late = shipment(partner, moscow(3, 11))
        await handlers.record_shipment(late, service.uow)
        monkeypatch.undo()
        [main] = await staged(service, "billing.ShipmentRecorded.v1", order_id=str(first.order_id))
        [extra] = await staged(service, "billing.ShipmentRecorded.v1", order_id=str(late.order_id))
        assert extra["document_date"] == main["document_date"] == "2026-05-03"
        assert extra["document_number"] != main["document_number"]
        async with service.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT number, supplement_to, amount, line_count FROM documents "
                        "WHERE partner_id = :p ORDER BY id"
                    ),
                    {"p": partner},
                )
            ).all()
        assert [(r.supplement_to, r.amount, r.line_count) for r in rows] == [
            (None, Decimal("1500.00"), 1),
            (main["document_number"], Decimal("1500.00"), 1),
        ]

    async def test_closing_refuses_totals_that_differ_from_the_lines(
        self, service: Service
    ) -> None:
        partner = uuid.uuid4()
        await handlers.record_shipment(shipment(partner, moscow(20)), service.uow)
        async with service.engine.begin() as conn:
            await conn.execute(
                text("UPDATE documents SET amount = amount + 0.01 WHERE partner_id = :p"),
                {"p": partner},
            )
        with pytest.raises(ClosingMismatch):
            await closing.close_days(service.uow, date(2026, 5, 21))
        async with service.engine.connect() as conn:
            still_open = (
                await conn.execute(
                    text("SELECT closed_at IS NULL FROM documents WHERE partner_id = :p"),
                    {"p": partner},
                )
            ).scalar_one()
        assert still_open  # the batch rolled back: nothing closed on wrong totals
        async with service.engine.begin() as conn:  # put it right for the other tests
            await conn.execute(
                text("UPDATE documents SET amount = amount - 0.01 WHERE partner_id = :p"),
                {"p": partner},
            )

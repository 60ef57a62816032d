"""Billing end to end through the gateway: orders on two Moscow days (the test clock at 23:59:59
and 00:00:00) become two documents; the UPD XML validates against the XSD, the PDF renders; a
payment allocated by credit shows as paid_amount and status; the finance feed a consumer queue
receives is deduplicable by its stable ids, also across an ops replay; the ops EDO endpoints.

Every service runs in this process, so the module freezes the wall clock under the services'
clocks (``esd_platform.clock.time``): a test-clock time then stays exactly where the test put it,
and an order placed "at 23:59:59" ships at 23:59:59, not a few hundred milliseconds later on the
other side of midnight.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
import asyncpg
import esd_platform.clock
import pytest
from billing.adapters.upd.builder import XSD_PATH
from billing.domain.documents import MOSCOW
from esd_contracts.credit.commands import PaymentOrder, PostPayments
from esd_contracts.credit.queries import PaymentsPosted
from esd_platform.testing import ask, isolated_settings
from lxml import etree
from pypdf import PdfReader

from examples.finance_consumer import Ledger
from tests.support import OPS, Partner, Platform, eventually, running_platform

pytestmark = pytest.mark.integration

DAY_ONE = date(2027, 3, 15)
DAY_TWO = date(2027, 3, 16)
LAST_SECOND = datetime(2027, 3, 15, 23, 59, 59, tzinfo=MOSCOW)
MIDNIGHT = datetime(2027, 3, 16, 0, 0, 0, tzinfo=MOSCOW)
TERM_DAYS = 15


class FrozenTime:
    """Stands in for the ``time`` module inside ``esd_platform.clock`` only."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def frozen() -> Iterator[FrozenTime]:
    frozen = FrozenTime()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(esd_platform.clock, "time", frozen)
        yield frozen


@pytest.fixture(scope="module")
async def platform(frozen: FrozenTime) -> AsyncIterator[Platform]:
    """This module's own platform: EDO through the stub operator, a quick billing clockwork."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ESD_BILLING_EDO_ADAPTER", "stub")
        patch.setenv("ESD_BILLING_TICK_SECONDS", "0.3")
        async with isolated_settings() as settings, running_platform(settings) as running:
            yield running


class FinanceFeed:
    """A consumer queue of its own on finance.events (credit's allocations come there too)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self, amqp_url: str) -> None:
        self._connection = await aio_pika.connect_robust(amqp_url)
        channel = await self._connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(await channel.get_exchange("finance.events"), routing_key="finance.#")
        await queue.consume(self._receive, no_ack=True)

    async def _receive(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        kind = (message.type or "..").split(".")[1]
        self.events.append((kind, str(message.message_id), json.loads(message.body)))

    def of(self, kind: str, **match: Any) -> list[tuple[str, dict[str, Any]]]:
        return [
            (message_id, body)
            for k, message_id, body in self.events
            if k == kind and all(body.get(key) == value for key, value in match.items())
        ]

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()


@pytest.fixture
async def feed(platform: Platform) -> AsyncIterator[FinanceFeed]:
    feed = FinanceFeed()
    await feed.start(platform.settings.amqp_url)
    try:
        yield feed
    finally:
        await feed.stop()


async def set_clock(platform: Platform, moment: datetime) -> None:
    """Move the test clock and wait until every service reads exactly ``moment``."""
    answer = await platform.client.post(
        "/api/v1/admin/clock", json={"now": moment.isoformat()}, headers=OPS
    )
    assert answer.status_code == 200, answer.text

    async def everywhere() -> bool:
        return all(s.clock.now() == moment for s in platform.services.values())

    await eventually(everywhere)


def exempt_key_product(item: dict[str, Any]) -> bool:
    return (
        item["kind"] == "key"
        and not item["required_fields"]
        and item["vat_rate"] == "exempt"
        and Decimal(item["price"]) < Decimal("5000")
    )


async def complete(platform: Platform, partner: Partner, sku: str, quantity: int) -> dict[str, Any]:
    order = await platform.order(
        partner,
        {"external_id": f"shop-{uuid.uuid4().hex[:12]}", "sku": sku, "quantity": quantity},
        wait=20,
    )
    if order["status"] != "completed":
        order = await platform.final_order(partner, order["id"])
    assert order["status"] == "completed", order
    return order


async def document(platform: Platform, partner: Partner, number: str) -> dict[str, Any]:
    answer = await platform.client.get(f"/api/v1/documents/{number}", headers=partner.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def partner_inn(platform: Platform, partner: Partner) -> str:
    conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
    try:
        inn = await conn.fetchval(
            "SELECT inn FROM billing.partners WHERE partner_id = $1", uuid.UUID(partner.partner_id)
        )
    finally:
        await conn.close()
    assert inn, "billing has the partner's details"
    return str(inn)


class TestBillingFlow:
    async def test_two_moscow_days_two_documents_upd_pdf_payment_and_feed(
        self, platform: Platform, feed: FinanceFeed
    ) -> None:
        product = await platform.product(exempt_key_product)
        price = Decimal(product["price"])

        # -- 23:59:59 Moscow belongs to the day, 00:00:00 to the next ---------------------------
        await set_clock(platform, LAST_SECOND)
        partner = await platform.new_partner()
        stranger = await platform.new_partner()
        late = await complete(platform, partner, product["sku"], 2)
        await set_clock(platform, MIDNIGHT)
        early = await complete(platform, partner, product["sku"], 1)

        listed = await platform.client.get(
            "/api/v1/documents",
            params={"from": DAY_ONE.isoformat(), "to": DAY_TWO.isoformat()},
            headers=partner.headers,
        )
        assert listed.status_code == 200, listed.text
        first, second = listed.json()["items"]
        assert (first["date"], second["date"]) == (DAY_ONE.isoformat(), DAY_TWO.isoformat())
        # the year's first documents: numbered gaplessly from 1
        assert (first["number"], second["number"]) == ("ESD-2027-000001", "ESD-2027-000002")
        assert [line["order_id"] for line in first["lines"]] == [late["id"]]
        assert [line["order_id"] for line in second["lines"]] == [early["id"]]
        [line] = first["lines"]
        assert (line["sku"], line["quantity"]) == (product["sku"], 2)
        assert (line["unit_price"], line["amount"]) == (f"{price:.2f}", f"{price * 2:.2f}")
        assert (line["vat_rate"], line["vat_amount"]) == ("exempt", "0.00")
        assert first["amount"] == f"{price * 2:.2f}"
        assert second["amount"] == f"{price:.2f}"
        assert first["due_date"] == (DAY_ONE + timedelta(days=TERM_DAYS)).isoformat()
        assert second["due_date"] == (DAY_TWO + timedelta(days=TERM_DAYS)).isoformat()
        assert (first["paid_amount"], first["status"]) == ("0.00", "open")
        assert (second["paid_amount"], second["status"]) == ("0.00", "open")

        # -- UPD XML (valid against the XSD) and PDF, only for the owner ------------------------
        upd = await platform.client.get(
            f"/api/v1/documents/{first['number']}",
            params={"format": "upd"},
            headers=partner.headers,
        )
        assert upd.status_code == 200, upd.text
        assert upd.headers["content-type"].startswith("application/xml")
        assert "ON_NSCHFDOPPR" in upd.headers["content-disposition"]
        schema = etree.XMLSchema(etree.parse(str(XSD_PATH)))
        tree = etree.fromstring(upd.content)
        schema.assertValid(tree)
        assert first["number"] in upd.content.decode("cp1251")

        pdf = await platform.client.get(
            f"/api/v1/documents/{first['number']}",
            params={"format": "pdf"},
            headers=partner.headers,
        )
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert first["number"] in text
        by_accept = await platform.client.get(
            f"/api/v1/documents/{second['number']}",
            headers={**partner.headers, "Accept": "application/pdf"},
        )
        assert by_accept.status_code == 200
        assert by_accept.content.startswith(b"%PDF")

        for params in ({}, {"format": "upd"}, {"format": "pdf"}):
            foreign = await platform.client.get(
                f"/api/v1/documents/{first['number']}", params=params, headers=stranger.headers
            )
            assert foreign.status_code == 404, (params, foreign.text)
            assert foreign.json()["code"] == "not_found"
        bad = await platform.client.get(
            f"/api/v1/documents/{first['number']}",
            params={"format": "docx"},
            headers=partner.headers,
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")

        # -- past the first due date: overdue (the billing clock), the days closed --------------
        await set_clock(platform, datetime(2027, 3, 31, 12, 0, tzinfo=MOSCOW))
        assert (await document(platform, partner, first["number"]))["status"] == "overdue"
        assert (await document(platform, partner, second["number"]))["status"] == "open"

        async def both_closed() -> bool:
            return len(feed.of("DocumentClosed", partner_id=partner.partner_id)) == 2

        await eventually(both_closed)

        # -- a payment allocated by credit: paid_amount and status paid -------------------------
        posted = await ask(
            platform.services["credit"].broker,
            PostPayments(
                correlation_id=uuid.uuid4(),
                occurred_at=MIDNIGHT,
                payments=(
                    PaymentOrder(
                        payer_inn=await partner_inn(platform, partner),
                        amount=price * 2,
                        date=date(2027, 3, 31),
                        number="417",
                        purpose=f"Оплата по УПД {first['number']}, без НДС",
                    ),
                ),
            ),
            PaymentsPosted,
        )
        [payment] = posted.payments
        assert [(a.document, a.amount) for a in payment.allocations] == [
            (first["number"], price * 2)
        ]

        async def paid() -> bool:
            return bool((await document(platform, partner, first["number"]))["status"] == "paid")

        await eventually(paid)
        settled = await document(platform, partner, first["number"])
        assert settled["paid_amount"] == f"{price * 2:.2f}"
        assert (await document(platform, partner, second["number"]))["status"] == "open"

        # -- the finance feed: stable ids, so a replay is recognisable as the same events -------
        def line_ids() -> set[str]:
            return {
                message_id
                for message_id, body in feed.of("DocumentLineAdded")
                if body["partner_id"] == partner.partner_id
            }

        async def lines_arrived() -> bool:
            return len(line_ids()) == 2

        await eventually(lines_arrived)
        replayed = await platform.client.post(
            "/api/v1/admin/finance/replay",
            json={
                "from": DAY_ONE.isoformat(),
                "to": DAY_TWO.isoformat(),
                "partner_id": partner.partner_id,
            },
            headers=OPS,
        )
        assert replayed.status_code == 200, replayed.text
        assert (replayed.json()["lines"], replayed.json()["closed"]) == (2, 2)

        def ours() -> list[tuple[str, str, dict[str, Any]]]:
            return [
                (kind, message_id, body)
                for kind, message_id, body in feed.events
                if body.get("partner_id") == partner.partner_id
            ]

        async def replay_arrived() -> bool:
            kinds = [kind for kind, _, _ in ours()]
            return kinds.count("DocumentLineAdded") >= 4 and kinds.count("DocumentClosed") >= 4

        await eventually(replay_arrived)
        received = ours()
        by_id: dict[str, list[dict[str, Any]]] = {}
        for _, message_id, body in received:
            by_id.setdefault(message_id, []).append(body)
        kinds = [kind for kind, _, _ in received]
        assert kinds.count("DocumentLineAdded") == 4
        assert kinds.count("DocumentClosed") == 4
        # each replayed event carries the id and the very body of its first emission
        for message_id, bodies in by_id.items():
            assert all(body == bodies[0] for body in bodies), message_id
        assert len(line_ids()) == 2

        # a downstream ledger fed everything, duplicates included, equals billing's documents
        ledger = Ledger()
        for kind, message_id, body in received:
            ledger.apply(message_id, kind, body)
        assert ledger.handled() == len(by_id)
        assert ledger.reconcile() == []
        posted_documents = ledger.documents()
        for doc in (settled, second):
            amount, vat, count = posted_documents[doc["number"]]
            assert (f"{amount:.2f}", f"{vat:.2f}", count) == (
                doc["amount"],
                doc["vat_amount"],
                len(doc["lines"]),
            )
        assert f"{ledger.paid()[first['number']]:.2f}" == settled["paid_amount"]


class TestFinanceOps:
    async def test_edo_status_resend_and_replay_checks(self, platform: Platform) -> None:
        product = await platform.product(exempt_key_product)
        await set_clock(platform, datetime(2027, 5, 10, 14, 0, tzinfo=MOSCOW))
        partner = await platform.new_partner()
        await complete(platform, partner, product["sku"], 1)
        [open_document] = (
            await platform.client.get("/api/v1/documents", headers=partner.headers)
        ).json()["items"]
        number = open_document["number"]

        # an open day's document cannot go to EDO yet
        early = await platform.client.post(
            f"/api/v1/admin/finance/edo/{number}/resend", headers=OPS
        )
        assert (early.status_code, early.json()["code"]) == (409, "document_not_closed")
        state = await platform.client.get(f"/api/v1/admin/finance/edo/{number}", headers=OPS)
        assert state.status_code == 200, state.text
        assert (state.json()["closed"], state.json()["edo_status"]) == (False, None)

        # the day ends: the clockwork closes the document and the stub operator delivers it
        await set_clock(platform, datetime(2027, 5, 11, 0, 10, tzinfo=MOSCOW))

        async def delivered() -> bool:
            answer = await platform.client.get(f"/api/v1/admin/finance/edo/{number}", headers=OPS)
            return bool(answer.json()["edo_status"] == "delivered")

        await eventually(delivered)
        listed = await platform.client.get(
            "/api/v1/admin/finance/edo",
            params={"status": "delivered", "partner_id": partner.partner_id},
            headers=OPS,
        )
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert item["number"] == number
        assert item["closed"] is True
        assert item["edo_file"].startswith("ON_NSCHFDOPPR")

        resent = await platform.client.post(
            f"/api/v1/admin/finance/edo/{number}/resend", headers=OPS
        )
        assert resent.status_code == 202, resent.text
        assert resent.json() == {"number": number, "queued": True, "previous_status": "delivered"}
        await eventually(delivered)

        # bad input: 4xx with a code, nothing replayed
        backwards = await platform.client.post(
            "/api/v1/admin/finance/replay",
            json={"from": "2027-05-11", "to": "2027-05-10"},
            headers=OPS,
        )
        assert (backwards.status_code, backwards.json()["code"]) == (422, "validation_error")
        unknown = await platform.client.post(
            "/api/v1/admin/finance/replay", json={"document": "ESD-2027-999999"}, headers=OPS
        )
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        one = await platform.client.post(
            "/api/v1/admin/finance/replay", json={"document": number}, headers=OPS
        )
        assert one.status_code == 200, one.text
        assert (one.json()["lines"], one.json()["closed"]) == (1, 1)
        missing = await platform.client.post(
            "/api/v1/admin/finance/edo/ESD-2027-999999/resend", headers=OPS
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

        # ops only
        as_partner = await platform.client.get("/api/v1/admin/finance/edo", headers=partner.headers)
        assert (as_partner.status_code, as_partner.json()["code"]) == (403, "forbidden")
        anonymous = await platform.client.post(
            "/api/v1/admin/finance/replay", json={"from": "2027-05-10"}
        )
        assert anonymous.status_code == 401

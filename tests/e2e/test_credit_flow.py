"""Credit end to end through the gateway on the test clock.

A live partner orders; the clock moves 16 days past the document's date (15-day term): the
balance shows it blocked with the overdue amount, credit announces ``PartnerBlocked`` on the bus,
a new non-test order is rejected ``partner_blocked_overdue`` while test orders still complete;
a 1CClientBankExchange file (Windows-1251) naming the document is posted → unblocked within a
second (``PartnerUnblocked``), ordering works again; ``balance?at=`` shows the past; the same
file again counts once. A second scenario posts a UTF-8 statement by multipart upload with
several documents, a partial payment, an overpayment that later pays a new document, a
duplicate, an unknown payer and unreadable sections, then the single-payment endpoint twice.

Every service runs in this process, so the module freezes the wall clock under the services'
clocks (as tests/e2e/test_billing_flow.py does): a test-clock time stays where the test put it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import esd_platform.clock
import pytest
from esd_platform.testing import isolated_settings

from tests.support import OPS, Partner, Platform, eventually, running_platform

pytestmark = pytest.mark.integration

MOSCOW = ZoneInfo("Europe/Moscow")
T0 = datetime(2027, 6, 1, 12, 0, tzinfo=MOSCOW)
UNKNOWN_INN = "7712345671"  # valid control digit, no partner has it
OUR_INN = "7701234567"
OUR_ACCOUNT = "40702810938000012345"


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
    async with isolated_settings() as settings, running_platform(settings) as running:
        yield running


class CreditFeed:
    """A queue of its own on finance.events, where credit puts (copies of) its blocks, unblocks,
    payments and allocations for everyone outside: as others see them."""

    KINDS = ("PartnerBlocked", "PartnerUnblocked", "PaymentReceived", "PaymentAllocated")

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self, amqp_url: str) -> None:
        self._connection = await aio_pika.connect_robust(amqp_url)
        channel = await self._connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        exchange = await channel.get_exchange("finance.events")
        for kind in self.KINDS:
            await queue.bind(exchange, routing_key=f"finance.{kind}.#")
        await queue.consume(self._receive, no_ack=True)

    async def _receive(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        kind = (message.type or "..").split(".")[1]
        self.events.append((kind, json.loads(message.body)))

    def of(self, kind: str, partner: Partner) -> list[dict[str, Any]]:
        return [b for k, b in self.events if k == kind and b["partner_id"] == partner.partner_id]

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()


@pytest.fixture
async def feed(platform: Platform) -> AsyncIterator[CreditFeed]:
    feed = CreditFeed()
    await feed.start(platform.settings.amqp_url)
    try:
        yield feed
    finally:
        await feed.stop()


# -- helpers ------------------------------------------------------------------------------------


async def set_clock(platform: Platform, moment: datetime) -> None:
    """Move the test clock and wait until every service reads exactly ``moment``."""
    answer = await platform.client.post(
        "/api/v1/admin/clock", json={"now": moment.isoformat()}, headers=OPS
    )
    assert answer.status_code == 200, answer.text

    async def everywhere() -> bool:
        return all(s.clock.now() == moment for s in platform.services.values())

    await eventually(everywhere)


async def advance_days(platform: Platform, days: int) -> datetime:
    before = platform.services["credit"].clock.now()
    answer = await platform.client.post(
        "/api/v1/admin/clock", json={"advance_days": days}, headers=OPS
    )
    assert answer.status_code == 200, answer.text
    moment = datetime.fromisoformat(answer.json()["now"])
    assert moment == before + timedelta(days=days)

    async def everywhere() -> bool:
        return all(s.clock.now() == moment for s in platform.services.values())

    await eventually(everywhere)
    return moment


def cheap_key_product(item: dict[str, Any]) -> bool:
    return (
        item["kind"] == "key"
        and not item["required_fields"]
        and Decimal("100") <= Decimal(item["price"]) < Decimal("5000")
    )


async def place(
    platform: Platform, partner: Partner, sku: str, quantity: int = 1, test: bool = False
) -> dict[str, Any]:
    order = await platform.order(
        partner,
        {
            "external_id": f"shop-{uuid.uuid4().hex[:12]}",
            "sku": sku,
            "quantity": quantity,
            "test": test,
        },
        wait=20,
    )
    if order["status"] not in ("completed", "rejected", "failed"):
        order = await platform.final_order(partner, order["id"])
    return order


async def complete(platform: Platform, partner: Partner, sku: str, quantity: int = 1) -> Any:
    order = await place(platform, partner, sku, quantity)
    assert order["status"] == "completed", order
    return order


async def documents(platform: Platform, partner: Partner) -> list[dict[str, Any]]:
    answer = await platform.client.get(
        "/api/v1/documents", params={"from": "2027-01-01"}, headers=partner.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


async def partner_inn(platform: Platform, partner: Partner) -> str:
    conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
    try:
        inn = await conn.fetchval(
            "SELECT inn FROM credit.credit_lines WHERE partner_id = $1",
            uuid.UUID(partner.partner_id),
        )
    finally:
        await conn.close()
    assert inn
    return str(inn)


async def balance_at(platform: Platform, partner: Partner, at: datetime | None) -> dict[str, Any]:
    params = {"at": at.isoformat()} if at is not None else {}
    mine = await platform.client.get("/api/v1/balance", params=params, headers=partner.headers)
    assert mine.status_code == 200, mine.text
    ops = await platform.client.get(
        f"/api/v1/admin/partners/{partner.partner_id}/balance", params=params, headers=OPS
    )
    assert ops.status_code == 200, ops.text
    assert ops.json() == mine.json()
    return mine.json()  # type: ignore[no-any-return]


def section(
    *,
    number: str,
    day: date,
    amount: str,
    payer_inn: str,
    purpose: str,
    payer: str = 'ООО "ПАРТНЁР"',
    payer_account: str = "40702810400000001111",
    receiver_account: str = OUR_ACCOUNT,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """One ``СекцияДокумент`` as a bank's client writes it (1.03)."""
    d = day.strftime("%d.%m.%Y")
    return [
        "СекцияДокумент=Платежное поручение",
        f"Номер={number}",
        f"Дата={d}",
        f"Сумма={amount}",
        f"ПлательщикСчет={payer_account}",
        f"ДатаСписано={d}",
        f"Плательщик=ИНН {payer_inn} {payer}",
        f"ПлательщикИНН={payer_inn}",
        f"Плательщик1={payer}",
        f"ПлательщикРасчСчет={payer_account}",
        "ПлательщикБанк1=ПАО СБЕРБАНК",
        "ПлательщикБИК=044525225",
        f"ПолучательСчет={receiver_account}",
        f"ДатаПоступило={d}",
        f'Получатель=ИНН {OUR_INN} ООО "ЕСД ДИСТРИБУЦИЯ"',
        f"ПолучательИНН={OUR_INN}",
        f"ПолучательРасчСчет={receiver_account}",
        "ВидОплаты=01",
        "Очередность=5",
        *extra,
        f"НазначениеПлатежа={purpose}",
        "КонецДокумента",
    ]


def statement(day: date, sections: list[list[str]], encoding: str) -> bytes:
    d = day.strftime("%d.%m.%Y")
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        f"Кодировка={'Windows' if encoding == 'cp1251' else 'UTF-8'}",
        "Отправитель=Бухгалтерия предприятия, редакция 3.0",
        "Получатель=",
        f"ДатаСоздания={d}",
        f"ДатаНачала={d}",
        f"ДатаКонца={d}",
        f"РасчСчет={OUR_ACCOUNT}",
        "СекцияРасчСчет",
        f"ДатаНачала={d}",
        f"РасчСчет={OUR_ACCOUNT}",
        "КонецРасчСчет",
    ]
    for s in sections:
        lines.extend(s)
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def money(value: Decimal) -> str:
    return f"{value:.2f}"


# -- the scenarios ------------------------------------------------------------------------------


class TestOverdueBlockAndPayment:
    async def test_overdue_blocks_a_statement_unblocks_and_the_past_stays_visible(
        self, platform: Platform, feed: CreditFeed
    ) -> None:
        product = await platform.product(cheap_key_product)
        sku, price = product["sku"], Decimal(product["price"])
        await set_clock(platform, T0)
        partner = await platform.new_partner(live=True)

        # -- day 0: an order on credit, a document due in 15 days -------------------------------
        order = await complete(platform, partner, sku)
        amount = Decimal(order["amount"])
        assert amount == price
        [doc] = await documents(platform, partner)
        assert doc["due_date"] == (T0.date() + timedelta(days=15)).isoformat()
        day0 = await balance_at(platform, partner, None)
        assert (day0["debt"], day0["blocked"], day0["overdue_amount"]) == (
            money(amount),
            False,
            "0.00",
        )
        assert day0["next_due_date"] == doc["due_date"]

        # -- 16 days later: overdue → blocked (by credit's sweeper, announced on the bus) -------
        overdue_at = await advance_days(platform, 16)

        async def blocked() -> bool:
            return bool((await balance_at(platform, partner, None))["blocked"])

        await eventually(blocked, timeout=10)
        now = await balance_at(platform, partner, None)
        assert now["overdue_amount"] == money(amount)
        assert now["debt"] == money(amount)

        async def announced() -> bool:
            return len(feed.of("PartnerBlocked", partner)) == 1

        await eventually(announced)
        [event] = feed.of("PartnerBlocked", partner)
        assert Decimal(event["overdue_amount"]) == amount
        assert event["oldest_due_date"] == doc["due_date"]

        refused = await place(platform, partner, sku)
        assert (refused["status"], refused["reason"]) == ("rejected", "partner_blocked_overdue")
        test_order = await place(platform, partner, sku, test=True)
        assert test_order["status"] == "completed", test_order
        assert (await balance_at(platform, partner, None))["reserved"] == "0.00"

        # the receivables report sees it 1-7 days overdue (JSON and CSV)
        report = await platform.client.get("/api/v1/admin/receivables", headers=OPS)
        assert report.status_code == 200, report.text
        assert report.json()["on"] == overdue_at.date().isoformat()
        [row] = [r for r in report.json()["rows"] if r["partner_id"] == partner.partner_id]
        assert (row["current"], row["overdue_1_7"], row["total"]) == (
            "0.00",
            money(amount),
            money(amount),
        )
        as_csv = await platform.client.get(
            "/api/v1/admin/receivables", params={"format": "csv"}, headers=OPS
        )
        assert as_csv.status_code == 200, as_csv.text
        assert as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        [csv_row] = [r for r in rows if r["partner_id"] == partner.partner_id]
        assert csv_row["overdue_1_7"] == money(amount)

        # -- an hour later the bank statement arrives (Windows-1251), naming the document -------
        paid_at = overdue_at + timedelta(hours=1)
        await set_clock(platform, paid_at)
        inn = await partner_inn(platform, partner)
        file = statement(
            paid_at.date(),
            [
                section(
                    number="731",
                    day=paid_at.date(),
                    amount=money(amount),
                    payer_inn=inn,
                    purpose=f"Оплата по УПД №{doc['number']} от "
                    f"{T0.date():%d.%m.%Y}. Без налога (НДС)",
                )
            ],
            "cp1251",
        )
        posted = await platform.client.post(
            "/api/v1/admin/bank-statements",
            content=file,
            headers={**OPS, "Content-Type": "text/plain; charset=windows-1251"},
        )
        answered = time.monotonic()
        assert posted.status_code == 200, posted.text
        assert posted.json() == {
            "payments": [
                {
                    "number": "731",
                    "partner_id": partner.partner_id,
                    "amount": money(amount),
                    "allocations": [{"document": doc["number"], "amount": money(amount)}],
                    "unallocated": "0.00",
                    "date": paid_at.date().isoformat(),
                    "payer_inn": inn,
                    "status": "posted",
                }
            ],
            "problems": [],
        }

        async def unblocked() -> bool:
            return not (await balance_at(platform, partner, None))["blocked"]

        await eventually(unblocked, timeout=5)
        assert time.monotonic() - answered < 1.0, "unblocked within a second of posting"
        settled = await balance_at(platform, partner, None)
        assert (settled["debt"], settled["overdue_amount"]) == ("0.00", "0.00")

        async def unblock_announced() -> bool:
            return len(feed.of("PartnerUnblocked", partner)) == 1

        await eventually(unblock_announced)

        # ordering works again
        again = await complete(platform, partner, sku)
        assert (await balance_at(platform, partner, None))["debt"] == again["amount"]

        # the same file again counts once: answered as applied, nothing more booked
        repeated = await platform.client.post(
            "/api/v1/admin/bank-statements", content=file, headers=OPS
        )
        assert repeated.status_code == 200, repeated.text
        [payment] = repeated.json()["payments"]
        assert payment["status"] == "duplicate"
        assert payment["allocations"] == [{"document": doc["number"], "amount": money(amount)}]
        assert (await balance_at(platform, partner, None))["debt"] == again["amount"]
        await eventually(unblock_announced)
        assert len(feed.of("PaymentReceived", partner)) == 1

        # -- the past, from the ledger: before the line existed, at day 0, while blocked --------
        missing = await platform.client.get(
            "/api/v1/balance",
            params={"at": (T0 - timedelta(minutes=1)).isoformat()},
            headers=partner.headers,
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        then = await balance_at(platform, partner, T0 + timedelta(seconds=1))
        assert (then["debt"], then["blocked"], then["overdue_amount"]) == (
            money(amount),
            False,
            "0.00",
        )
        assert then["next_due_date"] == doc["due_date"]
        while_blocked = await balance_at(platform, partner, overdue_at + timedelta(minutes=1))
        assert (while_blocked["debt"], while_blocked["blocked"]) == (money(amount), True)
        assert while_blocked["overdue_amount"] == money(amount)
        assert while_blocked["available"] == money(Decimal(then["limit"]) - amount)


class TestStatementsAndPayments:
    async def test_several_documents_partial_over_duplicate_unknown_and_garbage(
        self, platform: Platform, feed: CreditFeed
    ) -> None:
        product = await platform.product(cheap_key_product)
        sku, price = product["sku"], Decimal(product["price"])
        start = datetime(2027, 8, 2, 11, 0, tzinfo=MOSCOW)
        await set_clock(platform, start)
        payer = await platform.new_partner(live=True)
        other = await platform.new_partner(live=True)
        first = await complete(platform, payer, sku, 2)
        await set_clock(platform, start + timedelta(days=1))
        second = await complete(platform, payer, sku, 3)
        d1, d2 = await documents(platform, payer)
        assert (d1["amount"], d2["amount"]) == (first["amount"], second["amount"])
        a1, a2 = Decimal(d1["amount"]), Decimal(d2["amount"])
        inn, other_inn = await partner_inn(platform, payer), await partner_inn(platform, other)
        assert inn != other_inn
        other_before = await balance_at(platform, other, None)

        pay_day = (start + timedelta(days=2)).date()
        await set_clock(platform, start + timedelta(days=2))
        seq2 = int(d2["number"].rsplit("-", 1)[1])
        partial = price  # part of the second document, named by its bare number
        over = (a2 - partial) + a1 + Decimal("1000.00")  # the rest of both, and 1000 more
        sections = [
            section(
                number="101",
                day=pay_day,
                amount=money(partial).replace(".", ","),
                payer_inn=inn,
                purpose=f"опл. док. {seq2} от {start.date() + timedelta(days=1):%d.%m.%Y}",
            ),
            section(
                number="102",
                day=pay_day,
                amount=money(over),
                payer_inn=inn,
                purpose="Оплата по договору поставки ПО, без НДС",
            ),
            # the same payment again inside the file
            section(
                number="101",
                day=pay_day,
                amount=money(partial),
                payer_inn=inn,
                purpose=f"опл. док. {seq2}",
            ),
            section(
                number="103",
                day=pay_day,
                amount="5000.00",
                payer_inn=UNKNOWN_INN,
                purpose="Оплата по счёту 77",
            ),
            section(
                number="104",
                day=pay_day,
                amount="сто рублей",
                payer_inn=inn,
                purpose="Оплата",
            ),
            # money we paid out (our account is the payer's): not a payment to us
            section(
                number="9",
                day=pay_day,
                amount="700.00",
                payer_inn=OUR_INN,
                payer_account=OUR_ACCOUNT,
                receiver_account="40702810000000009999",
                purpose="Аренда",
            ),
        ]
        file = statement(pay_day, sections, "utf-8")
        # garbage lines between the sections
        file = file.replace(
            "КонецДокумента\r\nСекцияДокумент=Платежное поручение\r\nНомер=103".encode(),
            "КонецДокумента\r\n@@@ мусор ###\r\nСекцияДокумент=Платежное поручение\r\n"
            "Номер=103".encode(),
        )
        posted = await platform.client.post(
            "/api/v1/admin/bank-statements",
            files={"file": ("kl_to_1c.txt", file, "text/plain")},
            headers=OPS,
        )
        assert posted.status_code == 200, posted.text
        body = posted.json()
        by_number: dict[str, list[dict[str, Any]]] = {}
        for p in body["payments"]:
            by_number.setdefault(p["number"], []).append(p)
        [p101, dup101] = by_number["101"]
        assert (p101["status"], dup101["status"]) == ("posted", "duplicate")
        assert p101["allocations"] == [{"document": d2["number"], "amount": money(partial)}]
        assert p101["unallocated"] == "0.00"
        [p102] = by_number["102"]
        assert p102["allocations"] == [
            {"document": d1["number"], "amount": money(a1)},
            {"document": d2["number"], "amount": money(a2 - partial)},
        ]
        assert p102["unallocated"] == "1000.00"
        [p103] = by_number["103"]
        assert (p103["partner_id"], p103["status"]) == (None, "unknown_payer")
        assert "104" not in by_number
        assert "9" not in by_number
        codes = {p["code"] for p in body["problems"]}
        assert "unknown_payer" in codes
        assert any(p.get("number") == "104" for p in body["problems"]), body["problems"]
        assert all(p["code"] and p["detail"] for p in body["problems"])

        paid = await balance_at(platform, payer, None)
        assert (paid["debt"], paid["blocked"]) == ("0.00", False)
        assert await balance_at(platform, other, None) == other_before

        async def documents_paid() -> bool:  # billing takes credit's PaymentAllocated
            return all(
                (d["status"], d["paid_amount"]) == ("paid", d["amount"])
                for d in await documents(platform, payer)
            )

        await eventually(documents_paid)

        # the same statement again: every payment counts once
        again = await platform.client.post(
            "/api/v1/admin/bank-statements",
            files={"file": ("kl_to_1c.txt", file, "text/plain")},
            headers=OPS,
        )
        assert again.status_code == 200, again.text
        statuses = {p["number"]: p["status"] for p in again.json()["payments"]}
        assert (statuses["101"], statuses["102"]) == ("duplicate", "duplicate")
        assert {p["number"]: p for p in again.json()["payments"]}["102"]["unallocated"] == (
            "1000.00"
        )
        assert (await balance_at(platform, payer, None))["debt"] == "0.00"

        # the 1000 left over pays the next document at once
        third = await complete(platform, payer, sku, 1)
        owed = Decimal(third["amount"]) - Decimal("1000.00")

        async def consumed() -> bool:
            debt = (await balance_at(platform, payer, None))["debt"]
            return bool(debt == money(max(owed, Decimal(0))))

        await eventually(consumed)

        # -- the single-payment endpoint: bad input changes nothing, the same payment once ------
        before = await balance_at(platform, payer, None)
        for bad in (
            {"payer_inn": inn, "amount": "-1.00", "date": pay_day.isoformat(), "number": "1"},
            {"payer_inn": "123", "amount": "1.00", "date": pay_day.isoformat(), "number": "1"},
            {"payer_inn": inn, "amount": "1.00", "date": "2099-01-01", "number": "1"},
            {"payer_inn": inn, "amount": 1.0, "date": pay_day.isoformat(), "number": "1"},
        ):
            refused = await platform.client.post("/api/v1/admin/payments", json=bad, headers=OPS)
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] in ("validation_error", "invalid_inn")
        not_a_file = await platform.client.post(
            "/api/v1/admin/bank-statements", content=b"Hello", headers=OPS
        )
        assert (not_a_file.status_code, not_a_file.json()["code"]) == (422, "invalid_statement")
        assert await balance_at(platform, payer, None) == before

        payment = {
            "payer_inn": inn,
            "amount": "250.00",
            "date": pay_day.isoformat(),
            "number": "555",
            "purpose": "Аванс",
        }
        results = []
        for _ in range(2):
            answer = await platform.client.post("/api/v1/admin/payments", json=payment, headers=OPS)
            assert answer.status_code == 200, answer.text
            results.append(answer.json()["payments"][0])
        assert [r["status"] for r in results] == ["posted", "duplicate"]
        assert results[0]["partner_id"] == payer.partner_id
        assert results[0]["allocations"] == results[1]["allocations"]
        expected_debt = max(Decimal(before["debt"]) - Decimal("250.00"), Decimal(0))
        assert (await balance_at(platform, payer, None))["debt"] == money(expected_debt)
        unknown = await platform.client.post(
            "/api/v1/admin/payments", json={**payment, "payer_inn": UNKNOWN_INN}, headers=OPS
        )
        assert unknown.status_code == 200, unknown.text
        assert unknown.json()["payments"][0]["status"] == "unknown_payer"
        assert unknown.json()["problems"][0]["code"] == "unknown_payer"


class TestDistributorTerms:
    async def test_a_distributor_sets_its_partners_terms_and_sees_its_balance(
        self, platform: Platform
    ) -> None:
        distributor = await platform.new_partner(live=True)
        stranger = await platform.new_partner(live=True)
        conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
        try:
            reseller_id = await conn.fetchval(
                "SELECT reseller_id FROM gateway.partners WHERE partner_id = $1",
                uuid.UUID(distributor.partner_id),
            )
        finally:
            await conn.close()
        applied = await platform.client.post(
            "/api/v1/applications",
            json={
                "company_name": "ООО «Региональный партнёр»",
                "inn": "5012345672",
                "email": "region@example.ru",
                "region": "Московская область",
                "distributor_reseller_id": reseller_id,
            },
        )
        assert applied.status_code == 201, applied.text
        approved = await platform.client.post(
            f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
        )
        assert approved.status_code == 200, approved.text
        sub = Partner(approved.json()["partner_id"], approved.json()["api_key"])
        await platform.wait_for_credit_line(sub, None)
        path = f"/api/v1/distributor/partners/{sub.partner_id}"

        terms = {"limit": "7000.00", "term_days": 7}
        for who in (stranger, sub):  # another partner, the partner itself: as if absent
            refused = await platform.client.put(f"{path}/terms", json=terms, headers=who.headers)
            assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
            hidden = await platform.client.get(f"{path}/balance", headers=who.headers)
            assert hidden.status_code == 404
        anonymous = await platform.client.put(f"{path}/terms", json=terms)
        assert anonymous.status_code == 401
        for bad in ({"limit": "-1", "term_days": 7}, {"limit": "7000.00", "term_days": 400}):
            invalid = await platform.client.put(
                f"{path}/terms", json=bad, headers=distributor.headers
            )
            assert (invalid.status_code, invalid.json()["code"]) == (422, "validation_error")
        assert (await platform.balance(sub))["limit"] == "50000.00"

        done = await platform.client.put(f"{path}/terms", json=terms, headers=distributor.headers)
        assert done.status_code == 200, done.text
        assert done.json() == {
            "partner_id": sub.partner_id,
            "limit": "7000.00",
            "term_days": 7,
            "set_by": f"distributor:{reseller_id}",
        }
        await platform.wait_for_credit_line(sub, "7000.00")
        seen = await platform.client.get(f"{path}/balance", headers=distributor.headers)
        assert seen.status_code == 200, seen.text
        assert seen.json() == await platform.balance(sub)
        assert seen.json()["term_days"] == 7

        conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
        try:
            history = await conn.fetch(
                "SELECT credit_limit, term_days, source FROM credit.terms_history "
                "WHERE partner_id = $1 ORDER BY id",
                uuid.UUID(sub.partner_id),
            )
        finally:
            await conn.close()
        assert [(str(h["credit_limit"]), h["term_days"], h["source"]) for h in history][-1] == (
            "7000.00",
            7,
            f"distributor:{reseller_id}",
        )
        assert len(history) == 2  # the default terms it started with, then the distributor's

    async def test_a_distributor_sets_its_partners_price_rule(self, platform: Platform) -> None:
        """The spec's distributor terms are a price rule and credit terms: the rule applies to
        that partner's prices at once; a refused rule or a stranger's call changes nothing."""
        distributor = await platform.new_partner(live=True)
        stranger = await platform.new_partner(live=True)
        conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
        try:
            reseller_id = await conn.fetchval(
                "SELECT reseller_id FROM gateway.partners WHERE partner_id = $1",
                uuid.UUID(distributor.partner_id),
            )
        finally:
            await conn.close()
        applied = await platform.client.post(
            "/api/v1/applications",
            json={
                "company_name": "ООО «Партнёр дистрибьютора»",
                "inn": "7707083893",
                "email": "sub-price@example.ru",
                "region": "Тверская область",
                "distributor_reseller_id": reseller_id,
            },
        )
        assert applied.status_code == 201, applied.text
        approved = await platform.client.post(
            f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
        )
        sub = Partner(approved.json()["partner_id"], approved.json()["api_key"])
        await platform.wait_for_credit_line(sub, None)
        product = await platform.product(cheap_key_product)
        sku = product["sku"]
        path = f"/api/v1/distributor/partners/{sub.partner_id}/terms"

        async def price() -> str:
            seen = await platform.client.get(f"/api/v1/catalog/products/{sku}", headers=sub.headers)
            assert seen.status_code == 200, seen.text
            return str(seen.json()["price"])

        before = await price()
        rule = {"price_rule": {"adjustments": [{"fixed_price": "123.45", "sku": sku}]}}
        refused = await platform.client.put(path, json=rule, headers=stranger.headers)
        assert refused.status_code == 404
        for bad in (
            {"price_rule": {"adjustments": [{"fixed_price": "1.00"}]}},  # a fixed price needs a sku
            {"limit": "1000.00"},  # limit without term_days
            {},
        ):
            invalid = await platform.client.put(path, json=bad, headers=distributor.headers)
            assert (invalid.status_code, invalid.json()["code"]) == (422, "validation_error")
        assert await price() == before

        done = await platform.client.put(path, json=rule, headers=distributor.headers)
        assert done.status_code == 200, done.text
        assert done.json()["set_by"] == f"distributor:{reseller_id}"
        assert "limit" not in done.json()  # the credit terms were not touched
        assert await price() == "123.45"
        assert (await platform.balance(sub))["limit"] == "50000.00"


@pytest.mark.slow
class TestConcurrentOrders:
    async def test_200_concurrent_orders_over_20_partners_never_exceed_a_limit(
        self, platform: Platform
    ) -> None:
        product = await platform.product(cheap_key_product)
        price = Decimal(product["price"])
        limit = price * 4  # room for four of each partner's ten
        partners = await asyncio.gather(
            *(platform.new_partner(live=True, limit=money(limit)) for _ in range(20))
        )

        # All 200 are in the saga at once; the HTTP intake is entered 50 at a time, since 200
        # simultaneous POSTs exhaust the gateway's connection pool (a 500, the gateway's to fix).
        intake = asyncio.Semaphore(50)

        async def order(partner: Partner) -> dict[str, Any]:
            async with intake:
                answer = await platform.client.post(
                    "/api/v1/orders",
                    json={
                        "external_id": f"race-{uuid.uuid4().hex[:10]}",
                        "sku": product["sku"],
                        "quantity": 1,
                    },
                    headers=partner.headers,
                )
            assert answer.status_code == 202, answer.text
            return await platform.final_order(partner, answer.json()["id"], timeout=240)

        finals = await asyncio.gather(*(order(p) for p in partners for _ in range(10)))
        assert len(finals) == 200
        assert {f["status"] for f in finals} <= {"completed", "rejected"}
        assert {f["reason"] for f in finals if f["status"] == "rejected"} <= {
            "credit_limit_exceeded"
        }
        for partner in partners:
            balance = await balance_at(platform, partner, None)
            assert Decimal(balance["debt"]) <= limit, balance
            assert balance["reserved"] == "0.00"
            assert Decimal(balance["debt"]) == limit  # the limit is used, to the kopeck
        assert sum(f["status"] == "completed" for f in finals) == 20 * 4

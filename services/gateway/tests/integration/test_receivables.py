"""Ops payments, bank statements, balances at a moment and the receivables report, against a
stand-in credit service that records what reaches it: malformed input is 422 with a stable code
and nothing reaches credit; good input reaches it exactly as sent and its answer comes back in
the spec's shape. (The real credit service end to end: tests/e2e/test_credit_flow.py.)"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from esd_contracts.credit.commands import PostBankStatement, PostPayments
from esd_contracts.credit.queries import (
    AgingRow,
    Balance,
    CreditHistory,
    GetBalance,
    GetCreditHistory,
    GetReceivablesAging,
    PaymentAllocation,
    PaymentEntry,
    PaymentsPosted,
    PostedPayment,
    ReceivablesAging,
    StatementProblem,
    TermsEntry,
)
from esd_platform.messaging import answers
from faststream.rabbit import RabbitBroker, RabbitRouter
from gateway.runtime import Gateway

from services.gateway.tests.integration.helpers import OPS, VALID_INN, bearer, onboard

pytestmark = pytest.mark.integration

KNOWN = uuid.UUID(int=42)
"""The stand-in credit knows this partner; any other has no credit line."""
OPENED_AT = datetime(2026, 11, 1, tzinfo=UTC)

STATEMENT = (
    "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\n"
    "СекцияДокумент=Платежное поручение\r\nНомер=512\r\nДата=01.11.2026\r\nСумма=45000.00\r\n"
    "ПлательщикИНН=7707083893\r\nПолучательИНН=7701234567\r\nДатаПоступило=02.11.2026\r\n"
    "НазначениеПлатежа=Оплата по УПД №ESD-2026-000123 от 01.10.2026\r\nКонецДокумента\r\n"
    "КонецФайла\r\n"
)


@dataclass
class FakeCredit:
    payments: list[PostPayments] = field(default_factory=list)
    statements: list[PostBankStatement] = field(default_factory=list)
    balances: list[GetBalance] = field(default_factory=list)
    reports: list[GetReceivablesAging] = field(default_factory=list)
    histories: list[GetCreditHistory] = field(default_factory=list)

    def nothing_posted(self) -> bool:
        return not self.payments and not self.statements


def _posted(number: str, amount: Decimal) -> PostedPayment:
    return PostedPayment(
        number=number,
        partner_id=KNOWN,
        amount=amount,
        allocations=(PaymentAllocation(document="ESD-2026-000123", amount=Decimal("1000")),),
        unallocated=amount - Decimal("1000"),
        date=date(2026, 11, 2),
        payer_inn=VALID_INN,
    )


async def _fake_credit(amqp_url: str, fake: FakeCredit) -> RabbitBroker:
    router = RabbitRouter()

    @answers(router, PostPayments)
    async def post_payments(cmd: PostPayments) -> PaymentsPosted:
        fake.payments.append(cmd)
        return PaymentsPosted(payments=tuple(_posted(p.number, p.amount) for p in cmd.payments))

    @answers(router, PostBankStatement)
    async def post_statement(cmd: PostBankStatement) -> PaymentsPosted:
        fake.statements.append(cmd)
        if b"garbage" in base64.b64decode(cmd.content_base64):
            return PaymentsPosted(
                payments=(),
                problems=(StatementProblem(line=1, code="not_a_statement", detail="no header"),),
            )
        return PaymentsPosted(
            payments=(_posted("512", Decimal("45000")),),
            problems=(
                StatementProblem(line=30, number="77", code="unknown_payer", detail="ИНН ..."),
            ),
        )

    @answers(router, GetBalance)
    async def balance(query: GetBalance) -> Balance:
        fake.balances.append(query)
        found = query.partner_id == KNOWN and (query.at is None or query.at >= OPENED_AT)
        return Balance(
            found=found,
            limit=Decimal("50000"),
            debt=Decimal("12000.5"),
            reserved=Decimal("0"),
            remainder=Decimal("37999.5"),
            available=Decimal("37999.5"),
            overdue_amount=Decimal("12000.5"),
            blocked=True,
            term_days=15,
            next_due_date=date(2026, 11, 16),
        )

    @answers(router, GetReceivablesAging)
    async def aging(query: GetReceivablesAging) -> ReceivablesAging:
        fake.reports.append(query)
        row = AgingRow(
            partner_id=KNOWN,
            inn=VALID_INN,
            company_name="ООО Ромашка",
            current=Decimal("100"),
            overdue_1_7=Decimal("0"),
            overdue_8_30=Decimal("12000.5"),
            overdue_30_plus=Decimal("0"),
            total=Decimal("12100.5"),
        )
        totals = row.model_copy(update={"partner_id": uuid.UUID(int=0), "company_name": "total"})
        return ReceivablesAging(
            on=query.on or date(2026, 11, 27),
            rows=(row,),
            totals=totals,
            csv="partner_id,total\r\n42,12100.50\r\n" if query.format == "csv" else None,
        )

    @answers(router, GetCreditHistory)
    async def history(query: GetCreditHistory) -> CreditHistory:
        fake.histories.append(query)
        if query.partner_id != KNOWN:
            return CreditHistory(found=False)
        return CreditHistory(
            found=True,
            terms=(
                TermsEntry(
                    limit=Decimal("50000"), term_days=30, source="ops", effective_at=OPENED_AT
                ),
            ),
            payments=(
                PaymentEntry(
                    payment_id=uuid.UUID(int=7),
                    number="512",
                    date=date(2026, 11, 2),
                    amount=Decimal("1500"),
                    unallocated=Decimal("500"),
                    payer_inn=VALID_INN,
                    purpose="Оплата",
                    source="statement",
                    posted_at=OPENED_AT,
                    allocations=(
                        PaymentAllocation(document="ESD-2026-000123", amount=Decimal("1000")),
                    ),
                ),
            ),
        )

    broker = RabbitBroker(amqp_url)
    broker.include_router(router)
    await broker.start()
    return broker


World = tuple[httpx.AsyncClient, Gateway, FakeCredit, str]
"""The module's gateway client, the gateway, the stand-in credit and a partner's API key."""


@pytest.fixture(scope="module")
async def world(running: tuple[httpx.AsyncClient, Gateway]) -> AsyncIterator[World]:
    client, gateway = running
    approval = await onboard(client)
    fake = FakeCredit()
    broker = await _fake_credit(gateway.service.settings.amqp_url, fake)
    try:
        yield client, gateway, fake, approval["api_key"]
    finally:
        await broker.stop()


@pytest.fixture
def fake(world: World) -> FakeCredit:
    recorded: FakeCredit = world[2]
    recorded.payments.clear()
    recorded.statements.clear()
    recorded.balances.clear()
    recorded.reports.clear()
    recorded.histories.clear()
    return recorded


def good_payment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payer_inn": VALID_INN,
        "amount": "15000.00",
        "date": "2026-11-02",
        "number": "512",
        "purpose": "Оплата по УПД №ESD-2026-000123 от 01.10.2026",
    }
    body.update(overrides)
    return body


class TestPayments:
    async def test_a_payment_reaches_credit_as_sent_and_answers_the_spec_shape(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        response = await client.post("/api/v1/admin/payments", json=good_payment(), headers=OPS)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "payments": [
                {
                    "number": "512",
                    "partner_id": str(KNOWN),
                    "amount": "15000.00",
                    "allocations": [{"document": "ESD-2026-000123", "amount": "1000.00"}],
                    "unallocated": "14000.00",
                    "date": "2026-11-02",
                    "payer_inn": VALID_INN,
                    "status": "posted",
                }
            ],
            "problems": [],
        }
        [command] = fake.payments
        [order] = command.payments
        assert (order.payer_inn, order.amount, order.date, order.number) == (
            VALID_INN,
            Decimal("15000.00"),
            date(2026, 11, 2),
            "512",
        )
        assert order.purpose.startswith("Оплата по УПД")

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            (good_payment(payer_inn="7707083894"), "invalid_inn"),  # control digit wrong
            (good_payment(payer_inn="77070838"), "invalid_inn"),
            (good_payment(payer_inn="абвгдежзий"), "invalid_inn"),
            (good_payment(amount="abc"), "validation_error"),
            (good_payment(amount="-5.00"), "validation_error"),
            (good_payment(amount="0.00"), "validation_error"),
            (good_payment(amount="10.005"), "validation_error"),
            (good_payment(amount="1e5"), "validation_error"),
            (good_payment(amount=1500.5), "validation_error"),  # money is never a float
            (good_payment(date="2026-13-01"), "validation_error"),
            (good_payment(date="02.11.2026"), "validation_error"),
            (good_payment(date="2999-01-01"), "validation_error"),  # money from the future
            (good_payment(number=""), "validation_error"),
            (good_payment(number="   "), "validation_error"),
            (good_payment(payer_kpp="77360100"), "validation_error"),
            (good_payment(extra="field"), "validation_error"),
            ({k: v for k, v in good_payment().items() if k != "number"}, "validation_error"),
            ({k: v for k, v in good_payment().items() if k != "amount"}, "validation_error"),
            ([good_payment()], "validation_error"),
        ],
    )
    async def test_bad_input_is_422_with_a_code_and_reaches_nothing(
        self, world: World, fake: FakeCredit, body: Any, code: str
    ) -> None:
        client = world[0]
        response = await client.post("/api/v1/admin/payments", json=body, headers=OPS)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
        assert fake.nothing_posted()

    async def test_not_json_is_4xx_and_reaches_nothing(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        response = await client.post(
            "/api/v1/admin/payments",
            content=b"{not json",
            headers={**OPS, "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["code"] == "validation_error"
        assert fake.nothing_posted()

    async def test_ops_only(self, world: World, fake: FakeCredit) -> None:
        client, _, _, api_key = world
        for path in ("/api/v1/admin/payments", "/api/v1/admin/bank-statements"):
            as_partner = await client.post(path, json=good_payment(), headers=bearer(api_key))
            assert (as_partner.status_code, as_partner.json()["code"]) == (403, "forbidden")
            anonymous = await client.post(path, json=good_payment())
            assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
        for path in (
            "/api/v1/admin/receivables",
            f"/api/v1/admin/partners/{KNOWN}/balance",
        ):
            as_partner = await client.get(path, headers=bearer(api_key))
            assert as_partner.status_code == 403
        assert fake.nothing_posted()
        assert not fake.reports
        assert not fake.balances


class TestBankStatements:
    async def test_raw_windows_1251_body_reaches_credit_byte_for_byte(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        content = STATEMENT.encode("cp1251")
        response = await client.post(
            "/api/v1/admin/bank-statements",
            content=content,
            headers={**OPS, "Content-Type": "text/plain; charset=windows-1251"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(p["number"], p["amount"], p["status"]) for p in body["payments"]] == [
            ("512", "45000.00", "posted")
        ]
        assert body["problems"] == [
            {"code": "unknown_payer", "detail": "ИНН ...", "line": 30, "number": "77"}
        ]
        [command] = fake.statements
        assert base64.b64decode(command.content_base64) == content

    async def test_multipart_upload_utf8_with_its_file_name(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        content = STATEMENT.replace("Кодировка=Windows", "Кодировка=UTF-8").encode("utf-8")
        response = await client.post(
            "/api/v1/admin/bank-statements",
            files={"file": ("kl_to_1c.txt", content, "text/plain")},
            headers=OPS,
        )
        assert response.status_code == 200, response.text
        [command] = fake.statements
        assert base64.b64decode(command.content_base64) == content
        assert command.filename == "kl_to_1c.txt"

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            (b"", "validation_error"),
            (b"  \r\n ", "validation_error"),
            (b"%PDF-1.7 not a statement", "invalid_statement"),
            ("Номер=1\r\nСумма=100.00\r\n".encode("cp1251"), "invalid_statement"),
        ],
    )
    async def test_not_a_statement_is_422_and_reaches_nothing(
        self, world: World, fake: FakeCredit, content: bytes, code: str
    ) -> None:
        client = world[0]
        response = await client.post("/api/v1/admin/bank-statements", content=content, headers=OPS)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
        assert fake.nothing_posted()

    async def test_a_form_without_a_file_is_422(self, world: World, fake: FakeCredit) -> None:
        client = world[0]
        response = await client.post(
            "/api/v1/admin/bank-statements",
            data={"note": "no file"},
            files={"empty": ("", b"", "application/octet-stream")},
            headers=OPS,
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert fake.nothing_posted()

    async def test_what_credit_cannot_read_at_all_is_422_invalid_statement(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        response = await client.post(
            "/api/v1/admin/bank-statements",
            content=b"1CClientBankExchange\r\ngarbage",
            headers=OPS,
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_statement"
        assert response.json()["problems"][0]["code"] == "not_a_statement"


class TestBalances:
    async def test_partner_balance_at_a_moment_asks_credit_for_that_moment(
        self, world: World, fake: FakeCredit
    ) -> None:
        client, _, _, api_key = world
        at = "2026-11-20T12:00:00+03:00"
        response = await client.get("/api/v1/balance", params={"at": at}, headers=bearer(api_key))
        # the stand-in knows only KNOWN: this partner had no line then → 404
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        assert fake.balances[-1].at == datetime.fromisoformat(at)

    async def test_naive_or_malformed_at_is_422(self, world: World, fake: FakeCredit) -> None:
        client, _, _, api_key = world
        for at in ("2026-11-20T12:00:00", "yesterday"):
            for path, headers in (
                ("/api/v1/balance", bearer(api_key)),
                (f"/api/v1/admin/partners/{KNOWN}/balance", OPS),
            ):
                response = await client.get(path, params={"at": at}, headers=headers)
                assert response.status_code == 422, (path, at, response.text)
                assert response.json()["code"] == "validation_error"
        assert not fake.balances

    async def test_ops_see_any_partners_balance_now_and_at(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        response = await client.get(f"/api/v1/admin/partners/{KNOWN}/balance", headers=OPS)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "currency": "RUB",
            "limit": "50000.00",
            "debt": "12000.50",
            "reserved": "0.00",
            "remainder": "37999.50",
            "available": "37999.50",
            "overdue_amount": "12000.50",
            "blocked": True,
            "term_days": 15,
            "next_due_date": "2026-11-16",
        }
        before = (OPENED_AT - timedelta(days=1)).isoformat()
        missing = await client.get(
            f"/api/v1/admin/partners/{KNOWN}/balance", params={"at": before}, headers=OPS
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        stranger = await client.get(f"/api/v1/admin/partners/{uuid.uuid4()}/balance", headers=OPS)
        assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
        assert next(q.partner_id for q in fake.balances) == KNOWN


class TestReceivablesReport:
    async def test_json(self, world: World, fake: FakeCredit) -> None:
        client = world[0]
        response = await client.get(
            "/api/v1/admin/receivables", params={"on": "2026-12-01"}, headers=OPS
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["on"] == "2026-12-01"
        assert report["rows"][0] == {
            "partner_id": str(KNOWN),
            "inn": VALID_INN,
            "company_name": "ООО Ромашка",
            "current": "100.00",
            "overdue_1_7": "0.00",
            "overdue_8_30": "12000.50",
            "overdue_30_plus": "0.00",
            "total": "12100.50",
        }
        assert report["totals"]["partner_id"] is None
        assert report["totals"]["total"] == "12100.50"
        assert fake.reports[-1].on == date(2026, 12, 1)
        assert fake.reports[-1].format == "json"

    async def test_csv_by_format_or_accept(self, world: World, fake: FakeCredit) -> None:
        client = world[0]
        for params, headers in (
            ({"format": "csv"}, OPS),
            ({}, {**OPS, "Accept": "text/csv"}),
        ):
            response = await client.get("/api/v1/admin/receivables", params=params, headers=headers)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/csv")
            assert "attachment" in response.headers["content-disposition"]
            assert response.text.startswith("partner_id,total")
        assert [q.format for q in fake.reports] == ["csv", "csv"]

    async def test_bad_day_or_format_is_422(self, world: World, fake: FakeCredit) -> None:
        client = world[0]
        for params in ({"on": "2026-02-30"}, {"format": "xlsx"}):
            response = await client.get("/api/v1/admin/receivables", params=params, headers=OPS)
            assert response.status_code in (400, 422), response.text
            assert response.json()["code"] == "validation_error"
        assert not fake.reports


class TestTermsAndPayments:
    async def test_ops_see_a_partners_terms_history_and_payments(
        self, world: World, fake: FakeCredit
    ) -> None:
        client = world[0]
        terms = await client.get(f"/api/v1/admin/partners/{KNOWN}/terms", headers=OPS)
        assert terms.status_code == 200, terms.text
        assert terms.json()["items"] == [
            {
                "limit": "50000.00",
                "term_days": 30,
                "source": "ops",
                "effective_at": "2026-11-01T00:00:00Z",
            }
        ]
        payments = await client.get(
            f"/api/v1/admin/partners/{KNOWN}/payments",
            params={"from": "2026-11-01", "to": "2026-11-30"},
            headers=OPS,
        )
        assert payments.status_code == 200, payments.text
        [item] = payments.json()["items"]
        assert (item["amount"], item["unallocated"], item["allocations"]) == (
            "1500.00",
            "500.00",
            [{"document": "ESD-2026-000123", "amount": "1000.00"}],
        )
        asked = fake.histories[-1]
        assert (asked.partner_id, asked.date_from, asked.date_to) == (
            KNOWN,
            date(2026, 11, 1),
            date(2026, 11, 30),
        )

    async def test_unknown_partner_404_bad_period_422_partner_key_refused(
        self, world: World, fake: FakeCredit
    ) -> None:
        client, _, _, api_key = world
        for path in ("terms", "payments"):
            stranger = await client.get(
                f"/api/v1/admin/partners/{uuid.uuid4()}/{path}", headers=OPS
            )
            assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
            as_partner = await client.get(
                f"/api/v1/admin/partners/{KNOWN}/{path}", headers=bearer(api_key)
            )
            assert as_partner.status_code in (401, 403), as_partner.text
        asked = len(fake.histories)
        backwards = await client.get(
            f"/api/v1/admin/partners/{KNOWN}/payments",
            params={"from": "2026-11-30", "to": "2026-11-01"},
            headers=OPS,
        )
        assert (backwards.status_code, backwards.json()["code"]) == (422, "validation_error")
        assert len(fake.histories) == asked

"""Billing's deeper promises over the real broker and database: VAT per line, day closing and
immutability, supplementary documents for late lines, the finance feed and its replay, UPD and
PDF queries with ownership, EDO delivery through the operator adapters."""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from billing.adapters.edo import FileDropOperator, StubOperator
from billing.adapters.upd.builder import XSD_PATH
from billing.domain.documents import MOSCOW
from billing.service_layer import closing, edo
from billing.service_layer.issuer import Issuer
from billing.settings import BillingSettings
from esd_contracts.billing.commands import FinanceEventsReplayed, ReplayFinanceEvents
from esd_contracts.billing.finance import document_closed_id, line_added_id
from esd_contracts.billing.queries import (
    DocumentPdf,
    DocumentUpd,
    GetDocumentPdf,
    GetDocumentUpd,
)
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .conftest import Harness, shipment

pytestmark = pytest.mark.integration

ISSUER = Issuer.from_settings(BillingSettings())


def moscow(y: int, m: int, d: int, hh: int = 12, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=MOSCOW)


async def close(harness: Harness, before: date) -> int:
    return await closing.close_days(harness.service.uow, before)


class TestVat:
    async def test_audiobook_line_carries_the_vat_in_force_on_its_date(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        await harness.ship(shipment(partner, moscow(2026, 8, 3, 10), amount="1500.00"))
        # priced at the old 20 % (a wrong vat_amount too): billing taxes it at 22 % of 2026
        await harness.ship(
            shipment(
                partner,
                moscow(2026, 8, 3, 11),
                amount="610.00",
                quantity=2,
                vat_rate="20",
                vat_amount="101.67",
                sku="AUDIO-1",
                name="Аудиокнига",
            )
        )
        [document] = (await harness.documents(partner)).documents
        exempt, audiobook = document.lines
        assert (exempt.vat_rate, exempt.vat_amount) == ("exempt", Decimal("0.00"))
        assert exempt.vat_basis == "НК РФ ст. 149 п. 2 пп. 26"
        assert (audiobook.vat_rate, audiobook.vat_amount) == ("22", Decimal("110.00"))
        assert audiobook.vat_basis is None
        assert document.vat_amount == Decimal("110.00")
        assert [
            (t.rate, t.amount, t.vat_amount, t.amount_without_vat) for t in document.vat_totals
        ] == [
            ("exempt", Decimal("1500.00"), Decimal("0.00"), Decimal("1500.00")),
            ("22", Decimal("610.00"), Decimal("110.00"), Decimal("500.00")),
        ]


class TestClosing:
    async def test_closed_document_is_final_and_announced(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        first = await harness.ship(shipment(partner, moscow(2026, 9, 1, 10), amount="100.00"))
        await harness.ship(shipment(partner, moscow(2026, 9, 1, 11), amount="0.01"))
        assert await close(harness, date(2026, 9, 2)) >= 1
        [document] = (await harness.documents(partner)).documents
        assert document.closed
        [(message_id, body)] = await harness.finance_events(
            "DocumentClosed", document_number=first["document_number"]
        )
        assert message_id == str(document_closed_id(first["document_number"]))
        assert body["amount"] == "100.01"
        assert body["line_count"] == 2
        assert body["vat_totals"][0]["rate"] == "exempt"

    async def test_today_is_not_closed_before_its_end(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        await harness.ship(shipment(partner, moscow(2026, 9, 5, 23, 59, 59)))
        await close(harness, date(2026, 9, 5))  # the cutoff of a clock still on the 5th
        [document] = (await harness.documents(partner)).documents
        assert not document.closed

    async def test_database_refuses_to_change_a_closed_document(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        reply = await harness.ship(shipment(partner, moscow(2026, 9, 7)))
        await close(harness, date(2026, 9, 8))
        for statement in (
            "UPDATE documents SET amount = amount + 1 WHERE number = :n",
            "UPDATE document_lines SET amount = 1 WHERE document_id = "
            "(SELECT id FROM documents WHERE number = :n)",
            "DELETE FROM document_lines WHERE document_id = "
            "(SELECT id FROM documents WHERE number = :n)",
            "UPDATE documents SET closed_at = NULL WHERE number = :n",
        ):
            with pytest.raises(DBAPIError, match="immutable"):
                async with harness.service.engine.begin() as conn:
                    await conn.execute(text(statement), {"n": reply["document_number"]})

    async def test_line_arriving_after_its_day_closed_goes_on_a_supplement_of_that_day(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, term_days=20)
        main = await harness.ship(shipment(partner, moscow(2026, 9, 10, 23, 59, 58)))
        await close(harness, date(2026, 9, 11))
        late = await harness.ship(shipment(partner, moscow(2026, 9, 10, 23, 59, 59)))
        assert late["document_date"] == "2026-09-10"  # the shipment's day, as the law wants
        assert late["document_number"] != main["document_number"]
        assert late["due_date"] == main["due_date"] == "2026-09-30"
        documents = (await harness.documents(partner)).documents
        assert [(d.number, d.supplement_to, d.closed) for d in documents] == [
            (main["document_number"], None, True),
            (late["document_number"], main["document_number"], False),
        ]
        await close(harness, date(2026, 9, 11))
        assert all(d.closed for d in (await harness.documents(partner)).documents)

    async def test_orders_racing_across_midnight_land_on_their_own_days(
        self, harness: Harness
    ) -> None:
        partners = [uuid.uuid4() for _ in range(5)]
        before = [
            shipment(p, moscow(2026, 10, 1, 23, 59, 59, us))
            for p in partners
            for us in (0, 999_999)
        ]
        after = [shipment(p, moscow(2026, 10, 2, 0, 0, 0, us)) for p in partners for us in (0, 1)]
        await asyncio.gather(*(harness.publish(c) for c in before + after))
        for cmd in before:
            assert (await harness.replies(cmd.order_id))[0]["document_date"] == "2026-10-01"
        for cmd in after:
            assert (await harness.replies(cmd.order_id))[0]["document_date"] == "2026-10-02"
        for partner in partners:
            documents = (await harness.documents(partner)).documents
            assert [(d.date, len(d.lines)) for d in documents] == [
                (date(2026, 10, 1), 2),
                (date(2026, 10, 2), 2),
            ]


class TestFinanceFeed:
    async def test_every_line_is_announced_with_a_stable_id(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        cmd = shipment(partner, moscow(2026, 9, 15), amount="42.00")
        reply = await harness.ship(cmd)
        [(message_id, body)] = await harness.finance_events(
            "DocumentLineAdded", order_id=str(cmd.order_id)
        )
        assert message_id == str(line_added_id(cmd.order_id))
        assert body["document_number"] == reply["document_number"]
        assert body["amount"] == "42.00"
        assert body["position"] == 1

    async def test_replay_reemits_the_same_events_with_the_same_ids(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        commands = [
            shipment(partner, moscow(2026, 9, 20, 9 + i), amount=f"{i}.50") for i in range(3)
        ]
        for cmd in commands:
            await harness.ship(cmd)
        await close(harness, date(2026, 9, 21))
        number = (await harness.replies(commands[0].order_id))[0]["document_number"]
        originals = [
            (await harness.finance_events("DocumentLineAdded", order_id=str(c.order_id)))[0]
            for c in commands
        ] + [(await harness.finance_events("DocumentClosed", document_number=number))[0]]

        answer = await harness.request(
            ReplayFinanceEvents(
                correlation_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                date_from=date(2026, 9, 20),
                date_to=date(2026, 9, 20),
            ),
            FinanceEventsReplayed,
        )
        assert answer.lines >= 3
        assert answer.closed >= 1
        replayed = [
            (await harness.finance_events("DocumentLineAdded", count=2, order_id=str(c.order_id)))[
                1
            ]
            for c in commands
        ] + [(await harness.finance_events("DocumentClosed", count=2, document_number=number))[1]]
        assert replayed == originals


class TestUpdAndPdf:
    async def test_upd_of_own_document_is_valid_and_another_partner_finds_nothing(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, company_name="ООО «Лютик»", inn="7736207543")
        reply = await harness.ship(
            shipment(
                partner, moscow(2026, 9, 25), amount="610.00", vat_rate="22", vat_amount="110.00"
            )
        )
        number = reply["document_number"]
        upd = await harness.request(
            GetDocumentUpd(
                correlation_id=partner,
                occurred_at=datetime.now(UTC),
                partner_id=partner,
                number=number,
            ),
            DocumentUpd,
        )
        assert upd.found
        assert upd.file_name.startswith("ON_NSCHFDOPPR_")
        schema = etree.XMLSchema(etree.parse(str(XSD_PATH)))
        root = etree.fromstring(upd.xml.encode("cp1251"))
        schema.assertValid(root)
        assert root.find(".//СвПокуп/ИдСв/СвЮЛУч").get("НаимОрг") == "ООО «Лютик»"
        assert root.find(".//СвСчФакт").get("НомерДок") == number
        assert root.find(".//ВсегоОпл/СумНалВсего/СумНал").text == "110.00"

        stranger = uuid.uuid4()
        other = await harness.request(
            GetDocumentUpd(
                correlation_id=stranger,
                occurred_at=datetime.now(UTC),
                partner_id=stranger,
                number=number,
            ),
            DocumentUpd,
        )
        assert not other.found
        assert other.xml is None

    async def test_pdf_of_own_document(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        reply = await harness.ship(shipment(partner, moscow(2026, 9, 26), amount="1234.56"))
        pdf = await harness.request(
            GetDocumentPdf(
                correlation_id=partner,
                occurred_at=datetime.now(UTC),
                partner_id=partner,
                number=reply["document_number"],
            ),
            DocumentPdf,
        )
        assert pdf.found
        content = base64.b64decode(pdf.content_base64)
        text_ = " ".join(PdfReader(io.BytesIO(content)).pages[0].extract_text().split())
        assert reply["document_number"] in text_
        assert "1 234,56" in text_.replace("\u00a0", " ")
        stranger = uuid.uuid4()
        other = await harness.request(
            GetDocumentPdf(
                correlation_id=stranger,
                occurred_at=datetime.now(UTC),
                partner_id=stranger,
                number=reply["document_number"],
            ),
            DocumentPdf,
        )
        assert not other.found


class TestEdo:
    async def test_closed_documents_are_sent_and_their_delivery_tracked(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        reply = await harness.ship(shipment(partner, moscow(2026, 6, 3)))
        operator = StubOperator("delivered")
        await edo.send_closed(harness.service.uow, ISSUER, operator)
        assert (await harness.documents(partner)).documents[0].edo_status is None  # still open
        await close(harness, date(2026, 6, 4))
        assert await edo.send_closed(harness.service.uow, ISSUER, operator) >= 1
        [document] = (await harness.documents(partner)).documents
        assert document.edo_status == "sent"
        [content] = [
            c for name, c in operator.files.items() if reply["document_number"].encode() in c
        ]
        etree.XMLSchema(etree.parse(str(XSD_PATH))).assertValid(etree.fromstring(content))
        await edo.track_sent(harness.service.uow, operator)
        assert (await harness.documents(partner)).documents[0].edo_status == "delivered"

    async def test_file_drop_writes_the_file_and_reads_the_rejection(
        self, harness: Harness, tmp_path: Path
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        await harness.ship(shipment(partner, moscow(2026, 6, 10)))
        await close(harness, date(2026, 6, 11))
        operator = FileDropOperator(tmp_path)
        await edo.send_closed(harness.service.uow, ISSUER, operator)
        [row] = await harness.sql(
            "SELECT edo_file, edo_status FROM documents WHERE partner_id = :p", p=partner
        )
        assert row.edo_status == "sent"
        dropped = tmp_path / "outbox" / row.edo_file
        assert dropped.read_bytes().startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
        assert not list((tmp_path / "outbox").glob(".*.tmp"))
        (tmp_path / "receipts" / f"{row.edo_file}.rejected").write_text(
            "КПП покупателя не совпадает", encoding="utf-8"
        )
        await edo.track_sent(harness.service.uow, operator)
        [row] = await harness.sql(
            "SELECT edo_status, edo_message FROM documents WHERE partner_id = :p", p=partner
        )
        assert (row.edo_status, row.edo_message) == ("rejected", "КПП покупателя не совпадает")

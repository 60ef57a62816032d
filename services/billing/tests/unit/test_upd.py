"""The UPD XML of a document: valid against the XSD, with the parties, lines, VAT and totals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from billing.adapters.upd.builder import Signer, build
from billing.adapters.upd.schema import InvalidUpd, _schema, validate
from billing.domain.model import Line, Party, Snapshot
from billing.domain.vat import line_vat
from lxml import etree

SELLER = Party(
    name='ООО "ЕСД Дистрибуция"',
    inn="7701234560",
    kpp="770101001",
    address="123112, г. Москва, Пресненская наб., д. 12",
)
BUYER = Party(name="ООО «Ромашка»", inn="7707083893", kpp="773601001", address="г. Тула")
SIGNER = Signer("Иванов", "Иван", "Иванович", "Генеральный директор")
CLOSED = datetime(2026, 3, 10, 21, 5, 0, tzinfo=UTC)  # 00:05 Moscow on the 11th


def line(position: int, amount: str, rate: str = "exempt", quantity: int = 1) -> Line:
    vat = line_vat(rate, Decimal(amount), date(2026, 3, 10))
    return Line(
        position=position,
        order_id=uuid.uuid4(),
        sku=f"SKU-{position}",
        name=f"Товар {position}",
        quantity=quantity,
        unit_price=(Decimal(amount) / quantity).quantize(Decimal("0.01")),
        amount=Decimal(amount),
        vat_rate=vat.rate,
        vat_amount=vat.amount,
        created_at=CLOSED,
    )


def snapshot(*lines: Line, buyer: Party | None = BUYER) -> Snapshot:
    return Snapshot(
        id=1,
        number="ESD-2026-000042",
        partner_id=uuid.uuid4(),
        date=date(2026, 3, 10),
        due_date=date(2026, 3, 25),
        amount=sum((x.amount for x in lines), Decimal("0.00")),
        vat_amount=sum((x.vat_amount for x in lines), Decimal("0.00")),
        paid_amount=Decimal("0.00"),
        supplement_to=None,
        edo_status=None,
        created_at=CLOSED,
        closed_at=CLOSED,
        line_count=len(lines),
        lines=lines,
        buyer=buyer,
        reseller_id="R-000001",
        registered_at=datetime(2026, 1, 15, 9, tzinfo=UTC),
    )


def upd_of(document: Snapshot) -> etree._Element:
    upd = build(document, seller=SELLER, seller_edo_id="2BM-SELLER", signer=SIGNER)
    validate(upd)
    return etree.fromstring(upd.encode())


class TestUpd:
    def test_exempt_only_document_is_a_shipping_document_without_vat(self) -> None:
        root = upd_of(snapshot(line(1, "1500.00"), line(2, "999.99", quantity=3)))
        assert root.get("ВерсФорм") == "5.03"
        document = root.find("Документ")
        assert document.get("Функция") == "ДОП"
        assert document.get("КНД") == "1115131"
        item = root.find(".//СведТов")
        assert item.get("НалСт") == "без НДС"
        assert item.findtext("СумНал/БезНДС") == "без НДС"
        basis = item.find("ИнфПолФХЖ2[@Идентиф='ОснованиеБезНДС']")
        assert basis.get("Значен") == "НК РФ ст. 149 п. 2 пп. 26"
        total = root.find(".//ВсегоОпл")
        assert total.get("СтТовУчНалВсего") == "2499.99"
        assert total.get("СтТовБезНДСВсего") == "2499.99"
        assert total.findtext("СумНалВсего/БезНДС") == "без НДС"

    def test_document_with_an_audiobook_is_an_invoice_too(self) -> None:
        root = upd_of(snapshot(line(1, "1500.00"), line(2, "610.00", "22", quantity=2)))
        assert root.find("Документ").get("Функция") == "СЧФДОП"
        audiobook = root.findall(".//СведТов")[1]
        assert audiobook.get("НалСт") == "22%"
        assert audiobook.findtext("СумНал/СумНал") == "110.00"
        assert audiobook.get("СтТовБезНДС") == "500.00"
        assert audiobook.get("ЦенаТов") == "250.00"
        assert audiobook.get("СтТовУчНал") == "610.00"
        total = root.find(".//ВсегоОпл")
        assert total.get("СтТовУчНалВсего") == "2110.00"
        assert total.get("СтТовБезНДСВсего") == "2000.00"
        assert total.findtext("СумНалВсего/СумНал") == "110.00"

    def test_seller_and_buyer_with_inn_kpp_name_and_address(self) -> None:
        root = upd_of(snapshot(line(1, "100.00")))
        seller = root.find(".//СвПрод")
        assert seller.find("ИдСв/СвЮЛУч").attrib == {
            "НаимОрг": SELLER.name,
            "ИННЮЛ": "7701234560",
            "КПП": "770101001",
        }
        assert seller.find("Адрес/АдрИнф").get("АдрТекст") == SELLER.address
        buyer = root.find(".//СвПокуп")
        assert buyer.find("ИдСв/СвЮЛУч").get("ИННЮЛ") == "7707083893"
        assert buyer.find("ИдСв/СвЮЛУч").get("НаимОрг") == "ООО «Ромашка»"
        assert buyer.find("Адрес/АдрИнф").get("АдрТекст") == "г. Тула"

    def test_dates_in_fns_format_and_stable_file_id(self) -> None:
        document = snapshot(line(1, "100.00"))
        first = build(document, seller=SELLER, seller_edo_id="2BM-SELLER", signer=SIGNER)
        again = build(document, seller=SELLER, seller_edo_id="2BM-SELLER", signer=SIGNER)
        assert first == again  # the same document gives the same file
        root = etree.fromstring(first.encode())
        assert root.find(".//СвСчФакт").get("ДатаДок") == "10.03.2026"
        assert root.find("Документ").get("ДатаИнфПр") == "11.03.2026"
        assert root.find("Документ").get("ВремИнфПр") == "00.05.00"
        assert first.file_id.startswith("ON_NSCHFDOPPR_7707083893773601001_2BM-SELLER_20260310_")
        assert first.file_name.endswith(".xml")

    def test_file_is_windows_1251(self) -> None:
        upd = build(snapshot(line(1, "1.00")), seller=SELLER, seller_edo_id="x", signer=SIGNER)
        assert upd.encode().startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
        assert "Ромашка".encode("cp1251") in upd.encode()

    def test_buyer_without_kpp_and_address_is_still_valid(self) -> None:
        sole = Party(name="ИП Петров", inn="7707083893")
        upd_of(snapshot(line(1, "100.00"), buyer=sole))

    def test_schema_refuses_a_broken_file(self) -> None:
        upd = build(snapshot(line(1, "100.00")), seller=SELLER, seller_edo_id="x", signer=SIGNER)
        broken = type(upd)(upd.file_id, upd.xml.replace('НалСт="без НДС"', 'НалСт="13%"'))
        with pytest.raises(InvalidUpd, match="НалСт"):
            validate(broken)

    def test_schema_itself_is_well_formed(self) -> None:
        assert _schema() is not None

    def test_document_without_buyer_details_cannot_be_built(self) -> None:
        with pytest.raises(ValueError, match="buyer"):
            build(
                snapshot(line(1, "1.00"), buyer=None),
                seller=SELLER,
                seller_edo_id="x",
                signer=SIGNER,
            )


class TestEdoTariff:
    """EDO for official partners is marked free on the UPD; others carry the operator's fee."""

    def info(self, document: Snapshot) -> dict[str, str]:
        root = upd_of(document)
        return {e.get("Идентиф"): e.get("Значен") for e in root.iter("ТекстИнф")}

    def test_an_official_partner_s_edo_is_free(self) -> None:
        from dataclasses import replace

        official = replace(snapshot(line(1, "100.00")), official=True)
        assert self.info(official)["ТарифЭДО"] == "бесплатно (официальный партнёр)"

    def test_another_partner_pays_the_operator_s_tariff(self) -> None:
        assert self.info(snapshot(line(1, "100.00")))["ТарифЭДО"] == "по тарифу оператора ЭДО"

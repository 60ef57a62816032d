"""The printable form renders, and its text (extracted back with pypdf) says what it must."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from pathlib import Path

from billing.adapters.pdf import render
from pypdf import PdfReader

from .test_upd import BUYER, SELLER, line, snapshot

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


class TestPrintableForm:
    def test_pdf_carries_number_parties_lines_vat_and_totals(self) -> None:
        document = snapshot(line(1, "1500.00"), line(2, "610.00", "22", quantity=2))
        pdf = render(document, SELLER, FONT, BOLD)
        assert pdf.startswith(b"%PDF-")
        text = " ".join(text_of(pdf).split())
        assert "ESD-2026-000042" in text
        assert "10.03.2026" in text
        assert "Счёт-фактура и документ об отгрузке" in text
        assert SELLER.inn in text
        assert BUYER.inn in text
        assert "Ромашка" in text
        assert "Товар 1" in text
        assert "Товар 2" in text
        assert "Без НДС (НК РФ ст. 149 п. 2 пп. 26): 1 500,00 руб." in text.replace("\u00a0", " ")
        assert "По ставке 22%: 610,00 руб., в т. ч. НДС 110,00 руб." in text
        assert "Всего к оплате: 2 110,00 руб." in text.replace("\u00a0", " ")
        assert "Оплатить до: 25.03.2026" in text

    def test_exempt_document_is_titled_a_shipping_document(self) -> None:
        text = text_of(render(snapshot(line(1, "100.00")), SELLER, FONT, BOLD))
        assert "Документ об отгрузке № ESD-2026-000042" in " ".join(text.split())

    def test_many_lines_flow_onto_more_pages(self) -> None:
        lines = [line(i, "10.00") for i in range(1, 121)]
        pdf = render(snapshot(*lines), SELLER, FONT, BOLD)
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) >= 3
        assert "Товар 120" in text_of(pdf)

    def test_missing_font_falls_back_to_dejavu(self) -> None:
        pdf = render(snapshot(line(1, "1.00")), SELLER, Path(f"/nope/{uuid.uuid4()}.ttf"), BOLD)
        assert "ESD-2026-000042" in text_of(pdf)

    def test_compact_font_is_used_for_cyrillic_and_latin(self) -> None:
        from billing.adapters.pdf import _faces

        regular, bold = _faces(FONT, BOLD, ["ООО «Ромашка» № 5 — Kaspersky™ ₽"])
        assert regular != FONT
        assert "compact" in regular.name
        assert "compact" in bold.name

    def test_a_character_outside_the_compact_cut_prints_with_the_full_font(self) -> None:
        from billing.adapters.pdf import _faces

        assert _faces(FONT, BOLD, ["Ключ ∞ ☃"]) == (FONT, BOLD)
        document = snapshot(line(1, "1.00"))
        odd = replace(document, lines=(replace(document.lines[0], name="Снеговик ☃"),))
        assert "Снеговик" in text_of(render(odd, SELLER, FONT, BOLD))


def test_the_edo_tariff_is_printed_free_for_an_official_partner() -> None:
    official = replace(snapshot(line(1, "100.00")), official=True)
    assert "ЭДО: бесплатно (официальный партнёр)" in " ".join(
        text_of(render(official, SELLER, FONT, BOLD)).split()
    )
    assert "ЭДО: по тарифу оператора ЭДО" in " ".join(
        text_of(render(snapshot(line(1, "100.00")), SELLER, FONT, BOLD)).split()
    )

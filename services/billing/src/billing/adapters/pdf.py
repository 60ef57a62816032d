"""The printable form of a shipping document (PDF, fpdf2, a Unicode TTF font for Cyrillic)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billing.domain.model import Party, Snapshot

FALLBACK_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


class FontMissing(RuntimeError):
    """No Cyrillic TrueType font where settings say (install Debian's fonts-dejavu-core)."""


def _font(path: Path) -> Path:
    if path.exists():
        return path
    for candidate in FALLBACK_FONTS:
        if candidate.exists():
            return candidate
    raise FontMissing(f"{path} not found; set ESD_BILLING_PDF_FONT or install fonts-dejavu-core")


def _money(value: Decimal) -> str:
    whole, _, kopecks = f"{value:.2f}".partition(".")
    groups = f"{int(whole):,}".replace(",", "\u00a0")
    return f"{groups},{kopecks}"


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _party(pdf: FPDF, title: str, party: Party | None) -> None:
    pdf.set_font("body", "B", 9)
    pdf.cell(0, 5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", "", 9)
    if party is None:
        pdf.cell(0, 5, "реквизиты не получены", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    ids = f"ИНН {party.inn}" + (f", КПП {party.kpp}" if party.kpp else "")
    pdf.multi_cell(0, 5, f"{party.name}, {ids}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if party.address:
        pdf.multi_cell(0, 5, f"Адрес: {party.address}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


COLUMNS = (
    ("№", 8, "C"),
    ("Наименование", 62, "L"),
    ("Кол.", 12, "R"),
    ("Цена", 24, "R"),
    ("Сумма", 26, "R"),
    ("Ставка НДС", 22, "C"),
    ("НДС", 22, "R"),
)


def render(document: Snapshot, seller: Party, font: Path, font_bold: Path) -> bytes:
    """The document as an A4 PDF: header, parties, lines, totals per rate, due date."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Документ об отгрузке {document.number}")
    pdf.set_creator("esd billing")
    regular = _font(font)
    pdf.add_font("body", "", str(regular))
    pdf.add_font("body", "B", str(font_bold if font_bold.exists() else regular))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    pdf.set_font("body", "B", 13)
    kind = "Документ об отгрузке" if document.all_exempt else "Счёт-фактура и документ об отгрузке"
    pdf.multi_cell(
        0,
        7,
        f"{kind} № {document.number} от {_day(document.date)}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("body", "", 9)
    if document.supplement_to:
        pdf.cell(
            0,
            5,
            f"Дополнение к документу № {document.supplement_to}",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    state = "закрыт" if document.closed else "открыт (день ещё не завершён)"
    pdf.cell(0, 5, f"Статус: {state}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _party(pdf, "Продавец", seller)
    pdf.ln(1)
    _party(pdf, "Покупатель", document.buyer)
    if document.reseller_id:
        pdf.cell(
            0,
            5,
            f"Основание: дилерский договор № {document.reseller_id}",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.ln(3)

    pdf.set_font("body", "B", 8)
    for title, width, _ in COLUMNS:
        pdf.cell(width, 6, title, border=1, align="C")
    pdf.ln()
    pdf.set_font("body", "", 8)
    for line in document.lines:
        cells = (
            str(line.position),
            line.name,
            str(line.quantity),
            _money(line.unit_price),
            _money(line.amount),
            line.vat_label,
            "—" if line.exempt else _money(line.vat_amount),
        )
        name_lines = cast(
            list[str],
            pdf.multi_cell(COLUMNS[1][1], 5, line.name, dry_run=True, output="LINES"),
        )
        height = 5 * max(1, len(name_lines))
        y = pdf.get_y()
        if y + height > pdf.h - pdf.b_margin:
            pdf.add_page()
            y = pdf.get_y()
        x = pdf.l_margin
        for (_, width, align), text in zip(COLUMNS, cells, strict=True):
            pdf.set_xy(x, y)
            if text is line.name:
                pdf.multi_cell(width, 5, text, border=1, align=align, max_line_height=5)
            else:
                pdf.cell(width, height, text, border=1, align=align)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)

    pdf.ln(3)
    pdf.set_font("body", "", 9)
    for total in document.vat_totals:
        if total.rate == "exempt":
            text = f"Без НДС (НК РФ ст. 149 п. 2 пп. 26): {_money(total.amount)} руб."
        else:
            text = (
                f"По ставке {total.rate}%: {_money(total.amount)} руб., "
                f"в т. ч. НДС {_money(total.vat_amount)} руб."
            )
        pdf.cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", "B", 10)
    pdf.cell(
        0, 6, f"Всего к оплате: {_money(document.amount)} руб.", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    vat_text = (
        "Без НДС" if document.all_exempt else f"в т. ч. НДС {_money(document.vat_amount)} руб."
    )
    pdf.set_font("body", "", 9)
    pdf.cell(0, 5, vat_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 5, f"Оплатить до: {_day(document.due_date)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(
        0, 5, f"Оплачено: {_money(document.paid_amount)} руб.", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    return bytes(pdf.output())

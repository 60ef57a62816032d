"""The printable form of a shipping document (PDF, fpdf2, a Unicode TTF font for Cyrillic)."""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import cast

from fontTools import subset  # fpdf2 depends on fontTools and cuts fonts with it too
from fontTools.ttLib import TTFont
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


COMPACT_RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 (« » № is elsewhere), Latin Extended-A
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x052F),  # Cyrillic and its supplement
    (0x2000, 0x206F),  # General punctuation: dashes, quotes, ellipsis, non-breaking spaces
    (0x20A0, 0x20CF),  # Currency symbols (₽)
    (0x2100, 0x214F),  # Letterlike symbols (№, ™)
)
"""What a document prints almost always. A full DejaVu Sans (6,000 glyphs) costs fpdf2 about
half a second per document to parse and subset; this cut of it, made once per process, a small
fraction of that. A document with a character outside it is printed with the full font."""


@functools.lru_cache(maxsize=8)
def _compact(font: Path) -> tuple[Path, frozenset[int]]:
    """A copy of ``font`` with only :data:`COMPACT_RANGES`, cached in the temp folder by the
    font's name, size and time; and the code points it covers."""
    stat = font.stat()
    folder = Path(tempfile.gettempdir()) / "esd-billing-fonts"
    target = folder / f"{font.stem}-{stat.st_size}-{int(stat.st_mtime)}-compact.ttf"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        options = subset.Options()
        options.notdef_outline = True
        options.name_IDs = ["*"]
        options.layout_features = ["*"]
        face = TTFont(str(font))
        subsetter = subset.Subsetter(options)
        subsetter.populate(
            unicodes=[c for low, high in COMPACT_RANGES for c in range(low, high + 1)]
        )
        subsetter.subset(face)
        temporary = folder / f".{target.name}.{uuid.uuid4().hex}"
        face.save(str(temporary))
        os.replace(temporary, target)  # atomic: a concurrent reader never sees half a font
    return target, frozenset(TTFont(str(target)).getBestCmap())


def _faces(font: Path, bold: Path, texts: Iterable[str]) -> tuple[Path, Path]:
    """The compact cuts of the fonts when they cover every character of ``texts``."""
    try:
        compact, covered = _compact(font)
        compact_bold, covered_bold = _compact(bold)
    except Exception:  # a font fontTools cannot cut: print with the full one
        return font, bold
    needed = {ord(c) for text in texts for c in text}
    if needed <= covered and needed <= covered_bold:
        return compact, compact_bold
    return font, bold


def _printed_text(document: Snapshot, seller: Party) -> Iterable[str]:
    """Everything variable the form prints (its fixed wording is Cyrillic and Latin)."""
    yield document.number
    yield document.supplement_to or ""
    yield document.reseller_id or ""
    for party in (seller, document.buyer):
        if party is not None:
            yield party.name
            yield party.inn
            yield party.kpp or ""
            yield party.address or ""
    for line in document.lines:
        yield line.name
        yield line.vat_label


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
    regular, bold = _faces(
        regular, font_bold if font_bold.exists() else regular, _printed_text(document, seller)
    )
    pdf.add_font("body", "", str(regular))
    pdf.add_font("body", "B", str(bold))
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
    pdf.cell(0, 5, f"ЭДО: {document.edo_tariff}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())

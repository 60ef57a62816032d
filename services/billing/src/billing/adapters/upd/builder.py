"""Build the UPD XML of a shipping document (FNS format ON_NSCHFDOPPR 5.03).

The function follows the document's content: a document with a taxable line is an invoice and
a shipping document at once (``СЧФДОП``); a document of exempt lines only is a shipping
document (``ДОП``), since no invoice is issued for operations exempt under art. 149 (Tax Code
art. 169 п. 3 пп. 1). Licences are property rights (``ПрТовРаб`` 4), counted in pieces (ОКЕИ
796). The XML is deterministic: the same document gives the same bytes (its file id derives
from the number, its creation time is the document's closing time), so a resend is the same
file. FNS formats travel in windows-1251; :func:`encode` gives those bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

from billing.domain.documents import MOSCOW
from billing.domain.model import Line, Party, Snapshot

XSD_PATH = Path(__file__).with_name("ON_NSCHFDOPPR_5_03_esd.xsd")
FORMAT_VERSION = "5.03"
PROGRAM = "esd billing 1.0"
KND = "1115131"
ENCODING = "windows-1251"

SHIPPING_DOCUMENT = (
    "Документ об отгрузке товаров (выполнении работ), передаче имущественных прав "
    "(документ об оказании услуг)"
)
INVOICE_AND_SHIPPING = (
    "Счет-фактура и документ об отгрузке товаров (выполнении работ), передаче имущественных "
    "прав (документ об оказании услуг)"
)
OPERATION = "Передача неисключительных прав на программное обеспечение по лицензии"
UPD_NAME = "Универсальный передаточный документ"
CONTRACT_NAME = "Дилерский договор"
PIECES_OKEI, PIECES = "796", "шт"
PROPERTY_RIGHTS = "4"
UPD_NAMESPACE = uuid.UUID("a3c0f3c4-3f0e-5c5e-8a8e-2f7c1c9b6d20")


@dataclass(frozen=True)
class Signer:
    surname: str
    name: str
    patronymic: str | None
    position: str


@dataclass(frozen=True)
class Upd:
    file_id: str
    xml: str

    @property
    def file_name(self) -> str:
        return f"{self.file_id}.xml"

    def encode(self) -> bytes:
        """The bytes of the file as FNS formats travel: windows-1251."""
        return self.xml.encode("cp1251", errors="xmlcharrefreplace")


def _date(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):.2f}"


def _quantity(value: int) -> str:
    return str(value)


def _participant_id(edo_id: str | None, party: Party) -> str:
    return edo_id or f"{party.inn}{party.kpp or ''}"


def file_id(document: Snapshot, seller: Party, seller_edo_id: str, buyer_edo_id: str | None) -> str:
    """``ON_NSCHFDOPPR_<recipient>_<sender>_<YYYYMMDD>_<uuid>``, stable for the document."""
    buyer = document.buyer or Party(name="", inn="0000000000")
    stable = uuid.uuid5(UPD_NAMESPACE, document.number)
    return (
        f"ON_NSCHFDOPPR_{_participant_id(buyer_edo_id, buyer)}_{seller_edo_id}_"
        f"{document.date:%Y%m%d}_{stable}"
    )


def _party(parent: ET.Element, tag: str, party: Party) -> None:
    node = ET.SubElement(parent, tag)
    ids = ET.SubElement(node, "ИдСв")
    attrs = {"НаимОрг": party.name, "ИННЮЛ": party.inn}
    if party.kpp:
        attrs["КПП"] = party.kpp
    ET.SubElement(ids, "СвЮЛУч", attrs)
    if party.address:
        address = ET.SubElement(node, "Адрес")
        ET.SubElement(
            address,
            "АдрИнф",
            {"КодСтр": "643", "НаимСтран": "Россия", "АдрТекст": party.address},
        )


def _vat(parent: ET.Element, tag: str, exempt: bool, amount: Decimal) -> None:
    node = ET.SubElement(parent, tag)
    if exempt:
        ET.SubElement(node, "БезНДС").text = "без НДС"
    else:
        ET.SubElement(node, "СумНал").text = _money(amount)


def _line(table: ET.Element, line: Line, number: int) -> None:
    without_vat = line.amount_without_vat
    price = (without_vat / line.quantity).quantize(Decimal("0.01"), ROUND_HALF_UP)
    item = ET.SubElement(
        table,
        "СведТов",
        {
            "НомСтр": str(number),
            "НаимТов": line.name,
            "ОКЕИ_Тов": PIECES_OKEI,
            "НаимЕдИзм": PIECES,
            "КолТов": _quantity(line.quantity),
            "ЦенаТов": _money(price),
            "СтТовБезНДС": _money(without_vat),
            "НалСт": "без НДС" if line.exempt else f"{line.vat_rate}%",
            "СтТовУчНал": _money(line.amount),
        },
    )
    ET.SubElement(item, "ДопСведТов", {"ПрТовРаб": PROPERTY_RIGHTS, "КодТов": line.sku})
    excise = ET.SubElement(item, "Акциз")
    ET.SubElement(excise, "БезАкциз").text = "без акциза"
    _vat(item, "СумНал", line.exempt, line.vat_amount)
    if line.vat_basis:
        ET.SubElement(item, "ИнфПолФХЖ2", {"Идентиф": "ОснованиеБезНДС", "Значен": line.vat_basis})
    ET.SubElement(item, "ИнфПолФХЖ2", {"Идентиф": "НомерЗаказа", "Значен": str(line.order_id)})


def build(
    document: Snapshot,
    *,
    seller: Party,
    seller_edo_id: str,
    signer: Signer,
    buyer_edo_id: str | None = None,
) -> Upd:
    """The UPD of ``document`` (which must carry its lines and buyer)."""
    if document.buyer is None:
        raise ValueError(f"document {document.number}: the buyer's details have not arrived")
    if not document.lines:
        raise ValueError(f"document {document.number} has no lines")
    exempt_only = document.all_exempt
    formed = (document.closed_at or document.created_at).astimezone(MOSCOW)
    ident = file_id(document, seller, seller_edo_id, buyer_edo_id)

    root = ET.Element("Файл", {"ИдФайл": ident, "ВерсФорм": FORMAT_VERSION, "ВерсПрог": PROGRAM})
    doc = ET.SubElement(
        root,
        "Документ",
        {
            "КНД": KND,
            "Функция": "ДОП" if exempt_only else "СЧФДОП",
            "ПоФактХЖ": SHIPPING_DOCUMENT,
            "НаимДокОпр": SHIPPING_DOCUMENT if exempt_only else INVOICE_AND_SHIPPING,
            "ДатаИнфПр": _date(formed.date()),
            "ВремИнфПр": formed.strftime("%H.%M.%S"),
            "НаимЭконСубСост": _subject(seller),
        },
    )
    head = ET.SubElement(
        doc, "СвСчФакт", {"НомерДок": document.number, "ДатаДок": _date(document.date)}
    )
    _party(head, "СвПрод", seller)
    ET.SubElement(
        head,
        "ДокПодтвОтгрНом",
        {
            "РеквНаимДок": UPD_NAME,
            "РеквНомерДок": document.number,
            "РеквДатаДок": _date(document.date),
        },
    )
    _party(head, "СвПокуп", document.buyer)
    ET.SubElement(head, "ДенИзм", {"КодОКВ": "643", "НаимОКВ": "Российский рубль"})
    info = ET.SubElement(head, "ИнфПолФХЖ1")
    ET.SubElement(info, "ТекстИнф", {"Идентиф": "СрокОплаты", "Значен": _date(document.due_date)})
    if document.supplement_to:
        ET.SubElement(
            info, "ТекстИнф", {"Идентиф": "ДополнениеК", "Значен": document.supplement_to}
        )
    ET.SubElement(info, "ТекстИнф", {"Идентиф": "ТарифЭДО", "Значен": document.edo_tariff})

    table = ET.SubElement(doc, "ТаблСчФакт")
    for number, line in enumerate(document.lines, start=1):
        _line(table, line, number)
    total = ET.SubElement(
        table,
        "ВсегоОпл",
        {
            "СтТовБезНДСВсего": _money(document.amount_without_vat),
            "СтТовУчНалВсего": _money(document.amount),
        },
    )
    _vat(total, "СумНалВсего", exempt_only, document.vat_amount)

    transfer = ET.SubElement(
        ET.SubElement(doc, "СвПродПер"),
        "СвПер",
        {
            "СодОпер": OPERATION,
            "ДатаПер": _date(document.date),
        },
    )
    if document.reseller_id and document.registered_at:
        ET.SubElement(
            transfer,
            "ОснПер",
            {
                "РеквНаимДок": CONTRACT_NAME,
                "РеквНомерДок": document.reseller_id,
                "РеквДатаДок": _date(document.registered_at.astimezone(MOSCOW).date()),
            },
        )
    else:
        ET.SubElement(transfer, "БезДокОснПер").text = "1"

    signer_attrs = {"Должн": signer.position, "СпосПодтПолном": "1"}
    signer_node = ET.SubElement(doc, "Подписант", signer_attrs)
    name = {"Фамилия": signer.surname, "Имя": signer.name}
    if signer.patronymic:
        name["Отчество"] = signer.patronymic
    ET.SubElement(signer_node, "ФИО", name)

    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return Upd(ident, f'<?xml version="1.0" encoding="{ENCODING}"?>\n{body}\n')


def _subject(seller: Party) -> str:
    ids = f"ИНН/КПП {seller.inn}/{seller.kpp}" if seller.kpp else f"ИНН {seller.inn}"
    return f"{seller.name}, {ids}"

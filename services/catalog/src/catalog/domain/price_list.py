"""Reading vendors' price lists as they really arrive: CSV from Excel (a BOM, ``;`` separators,
decimal commas, Russian headers, prices like "1 490,00 ₽") or JSON. Pure: text in, rows out.

A row is a line number and its cells under canonical column names (``sku``, ``name``,
``price``…); turning a row into a product is :mod:`catalog.domain.importing`'s job.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from catalog.domain.vat import STANDARD_WORDS

COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku",
        "артикул",
        "код",
        "код товара",
        "артикул производителя",
        "article",
        "part number",
        "partnumber",
        "pn",
        "код sku",
    ),
    "name": (
        "name",
        "наименование",
        "название",
        "наименование товара",
        "товар",
        "product",
        "product name",
        "title",
    ),
    "vendor": ("vendor", "производитель", "вендор", "brand", "бренд", "manufacturer"),
    "version": ("version", "версия"),
    "category": ("category", "категория", "группа", "раздел", "group"),
    "kind": ("kind", "тип", "вид", "type", "тип лицензии"),
    "price": (
        "price",
        "base_price",
        "цена",
        "цена руб",
        "цена, руб",
        "цена (руб.)",
        "цена, руб.",
        "стоимость",
        "ррц",
        "розничная цена",
        "rrp",
        "price rub",
    ),
    "vat_rate": ("vat", "vat_rate", "ндс", "ставка ндс", "ндс, %"),
    "download_url": (
        "download_url",
        "url",
        "ссылка",
        "ссылка на дистрибутив",
        "дистрибутив",
        "download",
    ),
    "key_source": ("key_source", "источник ключей"),
    "active": ("active", "активен", "активный", "в продаже", "available"),
    "status": ("status", "статус"),
    "predecessor_sku": (
        "predecessor_sku",
        "predecessor",
        "предыдущая версия",
        "заменяет",
        "replaces",
    ),
    "required_fields": ("required_fields", "обязательные поля"),
}


def _header_key(header: str) -> str:
    """'Цена, руб.' and 'цена руб' meet at 'ценаруб': case, spaces and punctuation ignored."""
    return "".join(ch for ch in header.strip().lstrip("\ufeff").lower() if ch.isalnum())


_ALIASES: dict[str, str] = {
    _header_key(alias): canonical for canonical, aliases in COLUMNS.items() for alias in aliases
}


def canonical_column(header: str) -> str | None:
    """The canonical name of a header, or None for a column we do not read."""
    return _ALIASES.get(_header_key(header))


@dataclass(frozen=True)
class RawRow:
    """One data row: its line (CSV line, header = 1; JSON item number) and canonical cells."""

    line: int
    cells: dict[str, Any]


@dataclass
class ParsedPriceList:
    rows: list[RawRow] = field(default_factory=list)
    columns: tuple[str, ...] = ()
    errors: list[tuple[int, str]] = field(default_factory=list)
    """Lines that could not be read at all: (line, reason)."""


def decode(content_base64: str) -> str:
    """Bytes of a file whose encoding nobody told us: UTF-8 (with or without BOM) or cp1251."""
    try:
        raw = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("content_base64 is not valid base64") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


def _delimiter(header_line: str) -> str:
    """The separator Excel used: the candidate found most often in the header, outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(content: str) -> ParsedPriceList:
    """Rows of a CSV price list; the first non-empty line is the header."""
    text = content.lstrip("\ufeff")
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        return ParsedPriceList(errors=[(1, "the file is empty")])
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(lines[header_index]))
    result = ParsedPriceList()
    header: list[str | None] = []
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not header:
                if not any(cell.strip() for cell in cells):
                    continue
                header = [canonical_column(cell) for cell in cells]
                result.columns = tuple(name for name in header if name)
                continue
            if not any(cell.strip() for cell in cells):
                continue
            extra = [cell for cell in cells[len(header) :] if cell.strip()]
            if extra:
                result.errors.append(
                    (start, f"row has {len(cells)} cells but the header has {len(header)}")
                )
                continue
            row: dict[str, Any] = {}
            for name, cell in zip(header, cells, strict=False):
                if name and name not in row:
                    row[name] = cell.strip()
            result.rows.append(RawRow(start, row))
    except csv.Error as exc:
        result.errors.append((previous_end + 1, f"unreadable CSV: {exc}"))
    return result


def parse_json(content: str) -> ParsedPriceList:
    """Rows of a JSON price list: a list of objects, or an object holding one under
    ``products``, ``items`` or ``offers``. Numbers are read as Decimal, never float."""
    try:
        document = json.loads(content.lstrip("\ufeff"), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return ParsedPriceList(errors=[(exc.lineno, f"invalid JSON: {exc.msg}")])
    items: Any = document
    if isinstance(document, dict):
        items = next(
            (document[key] for key in ("products", "items", "offers") if key in document), None
        )
    if not isinstance(items, list):
        return ParsedPriceList(errors=[(1, "expected a list of products (or {'products': [...]})")])
    result = ParsedPriceList()
    columns: dict[str, None] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            result.errors.append((number, "item is not an object"))
            continue
        row: dict[str, Any] = {}
        for key, value in item.items():
            name = canonical_column(str(key))
            if name and name not in row:
                row[name] = value.strip() if isinstance(value, str) else value
                columns[name] = None
        result.rows.append(RawRow(number, row))
    result.columns = tuple(columns)
    return result


# -- cell values ------------------------------------------------------------------------------

_CURRENCY = re.compile(r"(₽|руб\.?|р\.|rub|rur)", re.IGNORECASE)


def parse_price(value: Any) -> Decimal:
    """'1 490,00 ₽', '1490.5', '1.490,00', 1490 → Decimal('1490.00'); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a price: {value!r}")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        text = _CURRENCY.sub("", str(value))
        text = re.sub(r"[\s\u00a0\u202f']", "", text)
        if re.fullmatch(r"-?[0-9]{1,3}(,[0-9]{3})+|-?[0-9]{1,3}(\.[0-9]{3}){2,}", text):
            # '1,490' or '1.490.000': digit grouping, not decimals (prices have two places)
            text = text.replace(",", "").replace(".", "")
        elif "," in text and "." in text:
            # the later separator is the decimal one: '1.490,00' or '1,490.00'
            if text.rfind(",") > text.rfind("."):
                text = text.replace(".", "").replace(",", ".")
            else:
                text = text.replace(",", "")
        elif text.count(",") == 1:
            text = text.replace(",", ".")
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", text):
            if re.fullmatch(r"-?[0-9]+\.[0-9]{3,}", text):
                raise ValueError(f"price has more than two decimal places: {value!r}")
            raise ValueError(f"not a price: {value!r}")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not a price: {value!r}") from exc
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"price has more than two decimal places: {value!r}")
    return amount.quantize(Decimal("0.01"))


_TRUE = {"1", "true", "yes", "y", "да", "д", "+", "active", "активен", "в продаже", "on"}
_FALSE = {"0", "false", "no", "n", "нет", "н", "-", "inactive", "неактивен", "off"}
_RETIRED = {
    "retired",
    "discontinued",
    "inactive",
    "снят",
    "снят с продажи",
    "архив",
    "выведен",
    "eol",
}
_ON_SALE = {"active", "в продаже", "продается", "продаётся", "available", "new", "новинка"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not yes/no: {value!r}")


def parse_status(value: Any) -> bool:
    """A status cell as 'active?': 'снят с продажи' → False, 'в продаже' → True."""
    text = str(value).strip().lower()
    if text in _RETIRED:
        return False
    if text in _ON_SALE:
        return True
    raise ValueError(f"unknown status: {value!r}")


_EXEMPT = {"exempt", "без ндс", "без налога", "не облагается", "освобождено", "нет", "-"}


def parse_vat(value: Any) -> str:
    """'без НДС' → 'exempt'; '22', '22%', 22 → '22'; 'standard' stays (see vat.resolve)."""
    if isinstance(value, bool):
        raise ValueError(f"not a VAT rate: {value!r}")
    text = str(value).strip().lower().replace(" ", "")
    if str(value).strip().lower() in _EXEMPT or text in _EXEMPT:
        return "exempt"
    if str(value).strip().lower() in STANDARD_WORDS:
        return "standard"  # resolved to the rate in force on the import's day
    match = re.fullmatch(r"(?:ндс)?([0-9]{1,2})(?:[.,]0+)?%?", text)
    if match is None:
        raise ValueError(f"not a VAT rate: {value!r}")
    return str(int(match.group(1)))


_KINDS = {
    "key": "key",
    "ключ": "key",
    "лицензия": "key",
    "license": "key",
    "licence": "key",
    "subscription": "subscription",
    "подписка": "subscription",
}


def parse_kind(value: Any) -> str:
    kind = _KINDS.get(str(value).strip().lower())
    if kind is None:
        raise ValueError(f"kind must be key or subscription, not {value!r}")
    return kind

"""Products, vendors and categories, and the rules a product must keep.

Pure: stdlib and Decimal only. The database enforces the same rules with constraints; these
checks exist so that an import can refuse a bad row with a reason instead of an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

Kind = Literal["key", "subscription"]
KeySource = Literal["generator", "pool", "vendor_api"]

KINDS: tuple[Kind, ...] = ("key", "subscription")
KEY_SOURCES: tuple[KeySource, ...] = ("generator", "pool", "vendor_api")
VAT_EXEMPT = "exempt"
CENT = Decimal("0.01")
MAX_PRICE = Decimal("999999999999.99")

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VAT_PATTERN = re.compile(r"^(exempt|[0-9]{1,2})$")
FIELD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class RequiredField:
    """A field a partner must send with an order of the product (e.g. a Kaspersky PIN)."""

    name: str
    title: str
    pattern: str

    def accepts(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    website: str = ""


@dataclass(frozen=True)
class Category:
    """A node of the category tree; ``parent_id`` None is a root."""

    id: str
    name: str
    parent_id: str | None = None


class CategoryTree:
    """The category tree: names and paths from the root, safe against cycles."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self.by_id: dict[str, Category] = {c.id: c for c in categories}
        self._paths: dict[str, list[Category]] = {}

    def name(self, category_id: str) -> str:
        found = self.by_id.get(category_id)
        return found.name if found else category_id

    def path(self, category_id: str) -> list[Category]:
        """Root first, ``category_id`` last."""
        cached = self._paths.get(category_id)
        if cached is not None:
            return cached
        path: list[Category] = []
        current = self.by_id.get(category_id)
        while current is not None and current not in path:
            path.append(current)
            current = self.by_id.get(current.parent_id) if current.parent_id else None
        self._paths[category_id] = path[::-1]
        return self._paths[category_id]


@dataclass(frozen=True)
class Product:
    """A sellable product; ``vendor`` and ``category`` are ids of a Vendor and a Category."""

    sku: str
    name: str
    vendor: str
    version: str
    category: str
    kind: Kind
    base_price: Decimal
    vat_rate: str
    download_url: str
    key_source: KeySource
    active: bool = True
    required_fields: tuple[RequiredField, ...] = field(default=())
    predecessor_sku: str | None = None
    revision: int = 1

    def same_content(self, other: Product) -> bool:
        """True when nothing a partner or a service could see differs (revision aside)."""
        return replace(self, revision=other.revision) == other

    def revised(self, **changes: object) -> Product:
        """This product with ``changes`` and the next revision (unchanged if nothing differs)."""
        candidate = replace(self, **changes)  # type: ignore[arg-type]
        if candidate == self:
            return self
        return replace(candidate, revision=self.revision + 1)


def money(value: str | int | Decimal) -> Decimal:
    """A RUB amount with two places; raises ValueError on anything that is not a number."""
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def problems(product: Product) -> list[str]:
    """Why ``product`` cannot be stored; empty when it can."""
    found: list[str] = []
    if not SKU_PATTERN.fullmatch(product.sku):
        found.append("sku must be 1-64 letters, digits, '.', '_' or '-'")
    if not product.name.strip():
        found.append("name is empty")
    elif len(product.name) > 500:
        found.append("name is longer than 500 characters")
    if product.kind not in KINDS:
        found.append(f"kind must be one of {', '.join(KINDS)}")
    if product.key_source not in KEY_SOURCES:
        found.append(f"key_source must be one of {', '.join(KEY_SOURCES)}")
    if product.base_price < 0:
        found.append("base_price is negative")
    elif product.base_price > MAX_PRICE:
        found.append("base_price is too large")
    elif product.base_price != product.base_price.quantize(CENT):
        found.append("base_price has more than two decimal places")
    if not VAT_PATTERN.fullmatch(product.vat_rate):
        found.append("vat_rate must be 'exempt' or a whole percentage such as '22'")
    names: set[str] = set()
    for required in product.required_fields:
        if not FIELD_NAME_PATTERN.fullmatch(required.name):
            found.append(f"required field name {required.name!r} is not a lowercase identifier")
        if required.name in names:
            found.append(f"required field {required.name!r} appears twice")
        names.add(required.name)
        try:
            re.compile(required.pattern)
        except re.error:
            found.append(f"required field {required.name!r} has an invalid pattern")
    return found


_CYRILLIC = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
_LATIN_SPELLING = "A B V G D E E ZH Z I Y K L M N O P R S T U F KH TS CH SH SCH - Y - E YU YA"
_LATIN = {cyr: lat.strip("-") for cyr, lat in zip(_CYRILLIC, _LATIN_SPELLING.split(), strict=True)}


def sku_code(label: str, length: int = 6) -> str:
    """An ASCII sku fragment of a label: 'Профессиональный' → 'PROFES'."""
    latin = "".join(_LATIN.get(ch, ch) for ch in label.upper())
    return "".join(ch for ch in latin if ch.isascii() and ch.isalnum())[:length] or "STD"

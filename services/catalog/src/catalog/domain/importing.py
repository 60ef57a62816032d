"""Deciding what a price list does to the catalog, row by row. Pure: rows and the current
catalog in, a plan out; a bad row is refused with its reason and never stops the others.

Upsert by sku: a known sku takes the row's non-empty cells over its current attributes (a new
revision when anything differs); an unknown sku becomes a new product, which needs at least a
name, a price and a vendor. A row whose only change is going inactive counts as retired.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from catalog.domain import vat
from catalog.domain.model import Category, Product, RequiredField, Vendor, problems, sku_code
from catalog.domain.price_list import (
    RawRow,
    parse_bool,
    parse_kind,
    parse_price,
    parse_status,
    parse_vat,
)

DEFAULT_CATEGORY = "other"
"""Where a new product goes when its row names no category (created by migration 0002)."""

_COMPARED = tuple(f.name for f in fields(Product) if f.name != "revision")


@dataclass(frozen=True)
class Outcome:
    line: int
    sku: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    line: int
    sku: str | None
    reason: str


@dataclass
class ImportPlan:
    """What to write (``products``, ``vendors``) and what to report."""

    rows: int = 0
    added: list[Outcome] = field(default_factory=list)
    changed: list[Outcome] = field(default_factory=list)
    retired: list[Outcome] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    unchanged: int = 0
    products: list[Product] = field(default_factory=list)
    vendors: list[Vendor] = field(default_factory=list)


class Directory:
    """Vendors and categories, found by id or by name, whatever case the vendor's file used."""

    def __init__(self, vendors: Iterable[Vendor], categories: Iterable[Category]) -> None:
        self.vendors: dict[str, Vendor] = {}
        self._vendor_ids: set[str] = set()
        for vendor in vendors:
            self._remember_vendor(vendor)
        self.categories: dict[str, Category] = {}
        for category in categories:
            self.categories.setdefault(category.id.lower(), category)
        for category in categories:
            self.categories.setdefault(category.name.strip().lower(), category)
        self.new_vendors: list[Vendor] = []

    def _remember_vendor(self, vendor: Vendor) -> None:
        self._vendor_ids.add(vendor.id)
        self.vendors.setdefault(vendor.id.lower(), vendor)
        self.vendors.setdefault(vendor.name.strip().lower(), vendor)

    def vendor(self, key: str) -> Vendor:
        """The vendor called ``key``; a vendor never seen before is created."""
        found = self.vendors.get(key.strip().lower())
        if found is not None:
            return found
        base = sku_code(key, 40).lower() or "vendor"
        vendor_id, n = base, 2
        while vendor_id in self._vendor_ids:
            vendor_id, n = f"{base}-{n}", n + 1
        vendor = Vendor(vendor_id, key.strip())
        self._remember_vendor(vendor)
        self.new_vendors.append(vendor)
        return vendor

    def category(self, key: str) -> Category | None:
        return self.categories.get(key.strip().lower())


def _given(cells: Mapping[str, Any], name: str) -> bool:
    value = cells.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _required_fields(value: Any) -> tuple[RequiredField, ...]:
    items = json.loads(value) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("required_fields must be a list of {name, title, pattern}")
    found = []
    for item in items:
        if not isinstance(item, dict) or not {"name", "pattern"} <= item.keys():
            raise ValueError("each required field needs a name and a pattern")
        found.append(
            RequiredField(
                str(item["name"]), str(item.get("title") or item["name"]), str(item["pattern"])
            )
        )
    return tuple(found)


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "price": parse_price,
    "vat_rate": parse_vat,
    "kind": parse_kind,
    "active": parse_bool,
    "status": parse_status,
    "required_fields": _required_fields,
}
_TEXT = ("name", "version", "download_url", "key_source", "predecessor_sku")


class RowRefused(ValueError):
    """The row cannot be applied; the message is the reason in the report."""


def _apply(
    row: RawRow,
    current: Product | None,
    directory: Directory,
    default_vendor: str | None,
    day: date | None,
) -> Product:
    cells = row.cells
    sku = str(cells.get("sku") or "").strip()
    changes: dict[str, Any] = {}
    for name, parse in _PARSERS.items():
        if _given(cells, name):
            try:
                changes[name] = parse(cells[name])
            except (ValueError, TypeError) as exc:
                raise RowRefused(f"{name}: {exc}") from exc
    for name in _TEXT:
        if _given(cells, name):
            changes[name] = str(cells[name]).strip()
    if "price" in changes:
        price = changes.pop("price")
        if price <= 0:
            raise RowRefused(f"price must be positive, not {price}")
        changes["base_price"] = price
    if "vat_rate" in changes and day is not None:
        changes["vat_rate"] = vat.resolve(changes["vat_rate"], day)
        vat_problem = vat.problem(changes["vat_rate"], day)
        if vat_problem and (current is None or current.vat_rate != changes["vat_rate"]):
            raise RowRefused(vat_problem)
    status_active = changes.pop("status", None)
    if status_active is not None and "active" not in changes:
        changes["active"] = status_active
    vendor_key = str(cells["vendor"]).strip() if _given(cells, "vendor") else None
    if vendor_key is None and current is None:
        vendor_key = default_vendor
    if vendor_key is not None:
        changes["vendor"] = directory.vendor(vendor_key).id
    if _given(cells, "category"):
        category = directory.category(str(cells["category"]))
        if category is None:
            raise RowRefused(f"unknown category {str(cells['category']).strip()!r}")
        changes["category"] = category.id

    if current is None:
        missing = [
            name
            for name, key in (("name", "name"), ("price", "base_price"), ("vendor", "vendor"))
            if key not in changes
        ]
        if missing:
            raise RowRefused(f"a new product needs {', '.join(missing)}")
        product = Product(
            sku=sku,
            name=changes.pop("name"),
            vendor=changes.pop("vendor"),
            version=changes.pop("version", ""),
            category=changes.pop("category", DEFAULT_CATEGORY),
            kind=changes.pop("kind", "key"),
            base_price=changes.pop("base_price"),
            vat_rate=changes.pop("vat_rate", "exempt"),
            download_url=changes.pop("download_url", ""),
            key_source=changes.pop("key_source", "generator"),
            **changes,
        )
    else:
        product = current.revised(**changes)
    found = problems(product)
    if found:
        raise RowRefused("; ".join(found))
    return product


def changed_attributes(before: Product, after: Product) -> tuple[str, ...]:
    return tuple(name for name in _COMPARED if getattr(before, name) != getattr(after, name))


def plan_import(
    rows: Iterable[RawRow],
    existing: Mapping[str, Product],
    directory: Directory,
    *,
    default_vendor: str | None = None,
    retire_missing_of: str | None = None,
    vendor_products: Iterable[Product] = (),
    unreadable: Iterable[tuple[int, str]] = (),
    day: date | None = None,
    retire_predecessors: bool = False,
) -> ImportPlan:
    """The plan for ``rows`` against the ``existing`` products with their skus.

    ``retire_missing_of`` (a vendor id) retires that vendor's active ``vendor_products`` that
    no row mentions, as when a vendor's complete price list drops discontinued products.
    ``day`` (Moscow) decides which VAT rates are in force; ``retire_predecessors`` retires the
    predecessor of every new version this list adds.
    """
    plan = ImportPlan()
    plan.refused.extend(Refusal(line, None, reason) for line, reason in unreadable)
    first_line: dict[str, int] = {}
    result: dict[str, Product] = {}
    for row in rows:
        plan.rows += 1
        sku = str(row.cells.get("sku") or "").strip()
        if not sku:
            plan.refused.append(Refusal(row.line, None, "no sku"))
            continue
        if sku in first_line:
            plan.refused.append(
                Refusal(row.line, sku, f"duplicate sku, first on line {first_line[sku]}")
            )
            continue
        first_line[sku] = row.line
        current = existing.get(sku)
        try:
            product = _apply(row, current, directory, default_vendor, day)
        except RowRefused as exc:
            plan.refused.append(Refusal(row.line, sku, str(exc)))
            continue
        if current is None:
            plan.added.append(Outcome(row.line, sku))
        elif product is current:
            plan.unchanged += 1
            continue
        else:
            changes = changed_attributes(current, product)
            if changes == ("active",) and not product.active:
                plan.retired.append(Outcome(row.line, sku, changes))
            else:
                plan.changed.append(Outcome(row.line, sku, changes))
        result[sku] = product

    _check_predecessors(plan, result, existing)
    if retire_predecessors:
        _retire_predecessors(plan, result, existing)
    if retire_missing_of is not None:
        for product in vendor_products:
            if (
                product.vendor == retire_missing_of
                and product.active
                and product.sku not in first_line
            ) and product.sku not in result:
                result[product.sku] = product.revised(active=False)
                plan.retired.append(Outcome(0, product.sku, ("active",)))
    plan.products = list(result.values())
    plan.vendors = [
        v for v in directory.new_vendors if any(p.vendor == v.id for p in plan.products)
    ]
    return plan


def _check_predecessors(
    plan: ImportPlan, result: dict[str, Product], existing: Mapping[str, Product]
) -> None:
    """A predecessor must exist (in the catalog or this list) and not be the product itself."""
    lines = {o.sku: o.line for o in (*plan.added, *plan.changed, *plan.retired)}
    for sku, product in list(result.items()):
        predecessor = product.predecessor_sku
        if predecessor is None:
            continue
        reason = None
        if predecessor == sku:
            reason = "a product cannot be its own predecessor"
        elif predecessor not in existing and predecessor not in result:
            reason = f"unknown predecessor {predecessor!r}"
        if reason is not None:
            del result[sku]
            for bucket in (plan.added, plan.changed, plan.retired):
                bucket[:] = [o for o in bucket if o.sku != sku]
            plan.refused.append(Refusal(lines[sku], sku, reason))


def _retire_predecessors(
    plan: ImportPlan, result: dict[str, Product], existing: Mapping[str, Product]
) -> None:
    """A new version replaces its predecessor: the old sku goes inactive (kept for history)."""
    for outcome in list(plan.added):
        predecessor = result[outcome.sku].predecessor_sku
        if predecessor is None:
            continue
        old = result.get(predecessor) or existing.get(predecessor)
        if old is None or not old.active:
            continue
        result[predecessor] = old.revised(active=False)
        plan.changed[:] = [o for o in plan.changed if o.sku != predecessor]
        plan.retired.append(Outcome(outcome.line, predecessor, ("active",)))

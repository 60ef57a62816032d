"""What a feed is made of: offers (a product at one partner's price) and the category tree."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal


@dataclass(frozen=True)
class RequiredFieldSpec:
    name: str
    title: str
    pattern: str


@dataclass(frozen=True)
class Offer:
    """One product as a partner sees it: the spec's catalog product resource."""

    sku: str
    name: str
    vendor: str
    version: str
    category: str
    kind: Literal["key", "subscription"] | str
    price: Decimal
    vat_rate: str
    download_url: str
    active: bool = True
    currency: str = "RUB"
    vendor_id: str | None = None
    category_id: str | None = None
    required_fields: tuple[RequiredFieldSpec, ...] = field(default=())

    def as_resource(self) -> dict[str, object]:
        """The spec's product JSON (money as a two-place string)."""
        return {
            "sku": self.sku,
            "name": self.name,
            "vendor": self.vendor,
            "version": self.version,
            "category": self.category,
            "kind": self.kind,
            "price": f"{self.price:.2f}",
            "currency": self.currency,
            "vat_rate": self.vat_rate,
            "required_fields": [
                {"name": f.name, "title": f.title, "pattern": f.pattern}
                for f in self.required_fields
            ],
            "download_url": self.download_url,
            "active": self.active,
        }


@dataclass(frozen=True)
class FeedCategory:
    """A node of the category tree; ``parent_id`` None is a root."""

    id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Shop:
    """Who publishes the feed (YML's ``shop``, CommerceML's catalog owner)."""

    name: str = "esd"
    company: str = "esd — электронная дистрибуция ПО"
    url: str = "https://esd.example"


OfferSource = Iterable[Offer] | Callable[[], Iterable[Offer]]
"""Offers, or a function returning them afresh: CommerceML lists every product twice (goods,
then offers with prices), so a single-pass iterator must come as a function to stream twice."""


def offers_of(source: OfferSource) -> Iterator[Offer]:
    return iter(source() if callable(source) else source)


def ordered_tree(categories: Iterable[FeedCategory]) -> list[FeedCategory]:
    """Parents before children; a node whose parent is unknown becomes a root."""
    by_id = {c.id: c for c in categories}
    children: dict[str | None, list[FeedCategory]] = {}
    for category in by_id.values():
        parent = category.parent_id if category.parent_id in by_id else None
        children.setdefault(parent, []).append(category)
    ordered: list[FeedCategory] = []
    seen: set[str] = set()
    stack = sorted(children.get(None, []), key=lambda c: c.id, reverse=True)
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        ordered.append(node)
        stack.extend(sorted(children.get(node.id, []), key=lambda c: c.id, reverse=True))
    return ordered


def offer_from_product(product: Mapping[str, Any], price: Decimal | None = None) -> Offer:
    """An offer from a product as ``ProductChanged`` carries it (its JSON as a dict, or a
    replica row with the same keys), at ``price`` (the partner's; the base price if None)."""
    fields = product.get("required_fields") or ()
    if isinstance(fields, str):
        fields = json.loads(fields)
    return Offer(
        sku=str(product["sku"]),
        name=str(product["name"]),
        vendor=str(product["vendor"]),
        version=str(product.get("version") or ""),
        category=str(product.get("category") or ""),
        kind=str(product.get("kind") or "key"),
        price=Decimal(str(product["base_price"])) if price is None else price,
        vat_rate=str(product.get("vat_rate") or "exempt"),
        download_url=str(product.get("download_url") or ""),
        active=bool(product.get("active", True)),
        vendor_id=product.get("vendor_id"),
        category_id=product.get("category_id"),
        required_fields=tuple(
            RequiredFieldSpec(str(f["name"]), str(f.get("title") or f["name"]), str(f["pattern"]))
            for f in fields
        ),
    )


def categories_from_paths(paths: Iterable[Iterable[Mapping[str, str]]]) -> list[FeedCategory]:
    """The category tree from products' ``category_path`` lists (root first), deduplicated."""
    found: dict[str, FeedCategory] = {}
    for path in paths:
        parent: str | None = None
        for node in path:
            found.setdefault(node["id"], FeedCategory(node["id"], node["name"], parent))
            parent = node["id"]
    return list(found.values())

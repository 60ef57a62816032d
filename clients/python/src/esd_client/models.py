"""The spec's resources as typed, frozen dataclasses; money stays ``Decimal``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

OrderStatus = Literal["pending", "completed", "rejected", "failed", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "rejected", "failed", "cancelled"})


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Key:
    activation_code: str
    download_url: str
    download_expires_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Key:
        expires = _dt(data["download_expires_at"])
        assert expires is not None
        return cls(data["activation_code"], data["download_url"], expires)


@dataclass(frozen=True)
class Order:
    id: uuid.UUID
    external_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    vat_rate: str
    vat_amount: Decimal
    test: bool
    status: OrderStatus
    created_at: datetime
    reason: str | None = None
    completed_at: datetime | None = None
    keys: tuple[Key, ...] = ()
    replayed: bool = False
    """True when the gateway answered an earlier request with the same external_id (200)."""

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any], replayed: bool = False) -> Order:
        created = _dt(data["created_at"])
        assert created is not None
        return cls(
            id=uuid.UUID(data["id"]),
            external_id=data["external_id"],
            sku=data["sku"],
            name=data["name"],
            quantity=int(data["quantity"]),
            unit_price=Decimal(data["unit_price"]),
            amount=Decimal(data["amount"]),
            vat_rate=data["vat_rate"],
            vat_amount=Decimal(data["vat_amount"]),
            test=bool(data["test"]),
            status=data["status"],
            created_at=created,
            reason=data.get("reason"),
            completed_at=_dt(data.get("completed_at")),
            keys=tuple(Key.from_json(k) for k in data.get("keys") or ()),
            replayed=replayed,
        )


@dataclass(frozen=True)
class RequiredField:
    name: str
    title: str
    pattern: str


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    vendor: str
    version: str
    category: str
    kind: Literal["key", "subscription"]
    price: Decimal
    currency: str
    vat_rate: str
    download_url: str
    active: bool
    required_fields: tuple[RequiredField, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Product:
        return cls(
            sku=data["sku"],
            name=data["name"],
            vendor=data["vendor"],
            version=data.get("version", ""),
            category=data.get("category", ""),
            kind=data.get("kind", "key"),
            price=Decimal(data["price"]),
            currency=data.get("currency", "RUB"),
            vat_rate=data["vat_rate"],
            download_url=data.get("download_url", ""),
            active=bool(data.get("active", True)),
            required_fields=tuple(
                RequiredField(f["name"], f["title"], f["pattern"])
                for f in data.get("required_fields") or ()
            ),
        )


@dataclass(frozen=True)
class Balance:
    currency: str
    limit: Decimal
    debt: Decimal
    reserved: Decimal
    remainder: Decimal
    available: Decimal
    overdue_amount: Decimal
    blocked: bool
    term_days: int
    next_due_date: date | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Balance:
        due = data.get("next_due_date")
        return cls(
            currency=data["currency"],
            limit=Decimal(data["limit"]),
            debt=Decimal(data["debt"]),
            reserved=Decimal(data["reserved"]),
            remainder=Decimal(data["remainder"]),
            available=Decimal(data["available"]),
            overdue_amount=Decimal(data["overdue_amount"]),
            blocked=bool(data["blocked"]),
            term_days=int(data["term_days"]),
            next_due_date=date.fromisoformat(due) if due else None,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Feed:
    """A catalog export: the raw bytes in the asked format and its ETag (for If-None-Match)."""

    content: bytes
    content_type: str
    etag: str | None
    not_modified: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def products(self) -> list[Product]:
        """The products of a ``json`` feed (empty when ``not_modified``)."""
        if self.not_modified or not self.content:
            return []
        data = json.loads(self.content)
        return [Product.from_json(item) for item in data["items"]]

"""Product rules: what can be stored and how a change becomes a new revision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from catalog.domain.model import Product, RequiredField, money, problems


def product(**changes: object) -> Product:
    base = {
        "sku": "KL-KIS-1D-1Y-N",
        "name": "Kaspersky Internet Security, 1 устройство, 1 год",
        "vendor": "kaspersky",
        "version": "2021",
        "category": "antivirus",
        "kind": "key",
        "base_price": Decimal("1790.00"),
        "vat_rate": "exempt",
        "download_url": "https://www.kaspersky.ru/download",
        "key_source": "generator",
    }
    base.update(changes)
    return Product(**base)  # type: ignore[arg-type]


class TestProblems:
    def test_valid_product_has_none(self) -> None:
        assert problems(product()) == []

    @pytest.mark.parametrize(
        ("changes", "fragment"),
        [
            ({"sku": "with space"}, "sku"),
            ({"sku": ""}, "sku"),
            ({"name": "  "}, "name"),
            ({"kind": "box"}, "kind"),
            ({"key_source": "magic"}, "key_source"),
            ({"base_price": Decimal("-1.00")}, "negative"),
            ({"base_price": Decimal("1.005")}, "two decimal"),
            ({"vat_rate": "20%"}, "vat_rate"),
            ({"required_fields": (RequiredField("pin", "PIN", "([0-9"),)}, "pattern"),
            ({"required_fields": (RequiredField("Bad Name", "PIN", "x"),)}, "identifier"),
        ],
    )
    def test_refuses_bad_attributes(self, changes: dict[str, object], fragment: str) -> None:
        assert any(fragment in p for p in problems(product(**changes)))


class TestRevised:
    def test_a_change_bumps_the_revision(self) -> None:
        changed = product().revised(base_price=Decimal("1890.00"))
        assert changed.revision == 2
        assert changed.base_price == Decimal("1890.00")

    def test_no_change_keeps_the_product(self) -> None:
        original = product()
        assert original.revised(base_price=Decimal("1790.00")) is original


class TestMoney:
    def test_quantizes_to_kopecks(self) -> None:
        assert money("1490") == Decimal("1490.00")
        assert money("0.005") == Decimal("0.01")

    @pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", ""])
    def test_refuses_non_numbers(self, raw: str) -> None:
        with pytest.raises(ValueError, match="number"):
            money(raw)

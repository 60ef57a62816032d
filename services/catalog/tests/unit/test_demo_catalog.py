"""The demo catalog is realistic, large enough and the same on every run."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from catalog.domain.demo_catalog import CATEGORIES, build_demo_catalog
from catalog.domain.model import SKU_PATTERN, Product, problems

DEMO = build_demo_catalog()


class TestDemoCatalog:
    def test_is_deterministic(self) -> None:
        assert build_demo_catalog() == DEMO

    def test_another_seed_gives_other_prices(self) -> None:
        other = build_demo_catalog(seed=1)
        assert [p.sku for p in other.products] == [p.sku for p in DEMO.products]
        assert [p.base_price for p in other.products] != [p.base_price for p in DEMO.products]

    def test_has_at_least_3200_active_products_from_58_vendors(self) -> None:
        active = [p for p in DEMO.products if p.active]
        assert len(active) >= 3200
        assert len({p.vendor for p in active}) >= 58
        assert len(DEMO.vendors) >= 58

    def test_has_a_few_inactive_products(self) -> None:
        inactive = [p for p in DEMO.products if not p.active]
        assert 5 <= len(inactive) <= 100

    def test_skus_are_unique_and_well_formed(self) -> None:
        skus = [p.sku for p in DEMO.products]
        assert len(set(skus)) == len(skus)
        assert all(SKU_PATTERN.fullmatch(sku) for sku in skus)

    def test_every_product_is_valid(self) -> None:
        assert {p.sku: problems(p) for p in DEMO.products if problems(p)} == {}

    def test_names_the_vendors_a_russian_distributor_carries(self) -> None:
        names = {v.name for v in DEMO.vendors}
        for expected in (
            "1С",
            "Kaspersky",
            "ESET",
            "Microsoft",
            "Hetman Software",
            "Infraware",
            "NANO Antivirus",
            "ABBYY",
            "Acronis",
            "ЛитРес",
            "МойОфис",
            "Р7-Офис",
        ):
            assert expected in names

    def test_every_vendor_and_category_of_a_product_exists(self) -> None:
        vendors = {v.id for v in DEMO.vendors}
        categories = {c.id for c in DEMO.categories}
        assert {p.vendor for p in DEMO.products} <= vendors
        assert {p.category for p in DEMO.products} <= categories

    def test_category_tree_has_no_orphans_and_parents_come_first(self) -> None:
        seen: set[str] = set()
        for category in CATEGORIES:
            assert category.parent_id is None or category.parent_id in seen
            seen.add(category.id)

    def test_names_read_like_a_price_list_in_russian_and_english(self) -> None:
        names = {p.name for p in DEMO.products}
        assert "Kaspersky Internet Security, 2 устройства, 1 год" in names
        assert "1С:Бухгалтерия 8 ПРОФ. Электронная поставка" in names
        assert "1С:Бухгалтерия 8. Базовая версия. Электронная поставка" in names
        assert any(re.search(r"[A-Za-z]", n) and "year" in n for n in names)

    def test_prices_are_roubles_with_two_places_that_look_like_shop_prices(self) -> None:
        for product in DEMO.products:
            assert product.base_price > 0
            assert product.base_price == product.base_price.quantize(Decimal("0.01"))
            assert product.base_price % 1 == 0  # whole roubles, e.g. 1490.00
        kis = next(p for p in DEMO.products if p.sku == "KL-KIS-1D-1Y-N")
        assert Decimal("1000") < kis.base_price < Decimal("3000")

    def test_kaspersky_small_office_needs_a_six_digit_partner_pin(self) -> None:
        ksos = [p for p in DEMO.products if p.sku.startswith("KL-KSOS-")]
        assert ksos
        for product in ksos:
            (pin,) = product.required_fields
            assert pin.name == "partner_pin"
            assert pin.accepts("123456")
            assert not pin.accepts("12345")
            assert not pin.accepts("1234567")

    def test_required_field_patterns_compile(self) -> None:
        with_fields = [p for p in DEMO.products if p.required_fields]
        assert 5 <= len(with_fields) <= 200
        for product in with_fields:
            for required in product.required_fields:
                re.compile(required.pattern)

    def test_audiobooks_carry_vat_and_software_is_exempt(self) -> None:
        audiobooks = [p for p in DEMO.products if p.category == "audiobooks"]
        assert len(audiobooks) >= 5
        assert {p.vat_rate for p in audiobooks} == {"22"}
        assert {p.vat_rate for p in DEMO.products if p.category != "audiobooks"} == {"exempt"}

    def test_keys_come_mostly_from_the_generator(self) -> None:
        sources = Counter(p.key_source for p in DEMO.products)
        assert sources["generator"] > len(DEMO.products) / 2
        assert sources["pool"] > 0
        assert 0 < sources["vendor_api"] < sources["pool"]

    def test_has_subscriptions(self) -> None:
        assert any(p.kind == "subscription" for p in DEMO.products)


class TestCompactDemoCatalog:
    """What test platforms seed: a tenth of the products, none of the variety lost."""

    COMPACT = build_demo_catalog(compact=True)

    def test_is_a_tenth_of_the_whole(self) -> None:
        assert 300 <= len(self.COMPACT.products) <= len(DEMO.products) // 5

    def test_is_the_whole_catalogs_products_unchanged(self) -> None:
        whole = {p.sku: p for p in DEMO.products}
        assert all(whole[p.sku] == p for p in self.COMPACT.products)

    def test_keeps_every_vendor_line_kind_source_field_and_rate(self) -> None:
        def variety(products: tuple[Product, ...]) -> dict[str, set[object]]:
            return {
                "vendor": {p.vendor for p in products if p.active},
                "line": {tuple(p.sku.split("-")[:2]) for p in products if p.active},
                "kind and source": {(p.kind, p.key_source) for p in products if p.active},
                "required fields": {p.required_fields for p in products if p.active},
                "vat": {p.vat_rate for p in products if p.active},
                "category": {p.category for p in products if p.active},
            }

        assert variety(self.COMPACT.products) == variety(DEMO.products)

    def test_keeps_every_inactive_product(self) -> None:
        def inactive(products: tuple[Product, ...]) -> set[str]:
            return {p.sku for p in products if not p.active}

        assert inactive(self.COMPACT.products) == inactive(DEMO.products)

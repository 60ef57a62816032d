"""Planning an import: upsert by sku, a reason for every refused row, the rest applied."""

from __future__ import annotations

from decimal import Decimal

from catalog.domain.importing import Directory, ImportPlan, plan_import
from catalog.domain.model import Category, Product, Vendor
from catalog.domain.price_list import RawRow, parse_csv

VENDORS = [Vendor("kaspersky", "Kaspersky"), Vendor("eset", "ESET")]
CATEGORIES = [
    Category("security", "Безопасность"),
    Category("antivirus", "Антивирусы", "security"),
    Category("other", "Прочее"),
]


def existing(**changes: object) -> Product:
    base = {
        "sku": "KL-KIS",
        "name": "Kaspersky Internet Security",
        "vendor": "kaspersky",
        "version": "2021",
        "category": "antivirus",
        "kind": "key",
        "base_price": Decimal("1790.00"),
        "vat_rate": "exempt",
        "download_url": "https://kaspersky.ru/kis",
        "key_source": "generator",
    }
    base.update(changes)
    return Product(**base)  # type: ignore[arg-type]


def plan(csv: str, current: list[Product] | None = None, **kw: object) -> ImportPlan:
    parsed = parse_csv(csv)
    products = {p.sku: p for p in current or []}
    return plan_import(
        parsed.rows,
        products,
        Directory(VENDORS, CATEGORIES),
        unreadable=parsed.errors,
        vendor_products=list(products.values()),
        **kw,  # type: ignore[arg-type]
    )


class TestPlanImport:
    def test_adds_new_and_changes_known_products(self) -> None:
        result = plan(
            "sku;name;price;vendor;category\n"
            "KL-KIS;Kaspersky Internet Security;1 890,00;Kaspersky;Антивирусы\n"
            "ES-NOD;ESET NOD32;1390;eset;antivirus\n",
            [existing()],
        )
        assert [(o.line, o.sku) for o in result.added] == [(3, "ES-NOD")]
        assert [(o.line, o.sku, o.changes) for o in result.changed] == [
            (2, "KL-KIS", ("base_price",))
        ]
        by_sku = {p.sku: p for p in result.products}
        assert by_sku["KL-KIS"].revision == 2
        assert by_sku["KL-KIS"].base_price == Decimal("1890.00")
        assert by_sku["ES-NOD"].revision == 1
        assert by_sku["ES-NOD"].vendor == "eset"
        assert result.refused == []

    def test_the_same_row_again_is_unchanged(self) -> None:
        result = plan("sku;price\nKL-KIS;1790\n", [existing()])
        assert result.unchanged == 1
        assert result.products == []

    def test_a_bad_row_never_stops_the_good_ones(self) -> None:
        result = plan(
            "sku;name;price;vendor\n"
            "A-1;Good one;100;ESET\n"
            "A-2;Bad price;abc;ESET\n"
            "A-3;Negative;-5;ESET\n"
            ";No sku;100;ESET\n"
            "A 4;Space in sku;100;ESET\n"
            "A-5;Good two;200;ESET\n",
        )
        assert [o.sku for o in result.added] == ["A-1", "A-5"]
        refused = {(r.line, r.sku): r.reason for r in result.refused}
        assert refused.keys() == {(3, "A-2"), (4, "A-3"), (5, None), (6, "A 4")}
        assert "price" in refused[(3, "A-2")]
        assert "positive" in refused[(4, "A-3")]
        assert "sku" in refused[(6, "A 4")]

    def test_duplicate_skus_keep_the_first(self) -> None:
        result = plan("sku;name;price;vendor\nA-1;One;100;ESET\nA-1;Two;200;ESET\n")
        assert [p.name for p in result.products] == ["One"]
        assert [(r.line, r.reason) for r in result.refused] == [
            (3, "duplicate sku, first on line 2")
        ]

    def test_a_new_product_needs_name_price_and_vendor(self) -> None:
        result = plan("sku;price\nNEW-1;100\n")
        assert result.refused[0].reason == "a new product needs name, vendor"
        assert plan("sku;price;name\nNEW-1;100;X\n", default_vendor="ESET").added

    def test_missing_columns_update_only_what_is_given(self) -> None:
        result = plan("sku;name\nKL-KIS;Kaspersky Internet Security 2026\n", [existing()])
        (product,) = result.products
        assert product.base_price == Decimal("1790.00")
        assert product.name == "Kaspersky Internet Security 2026"

    def test_unknown_category_is_refused_and_a_new_vendor_is_created(self) -> None:
        result = plan(
            "sku;name;price;vendor;category\n"
            "X-1;Thing;100;Новый Вендор;Нет такой\n"
            "X-2;Thing;100;Новый Вендор;\n"
        )
        assert result.refused[0].reason == "unknown category 'Нет такой'"
        (product,) = result.products
        assert product.category == "other"
        assert [(v.id, v.name) for v in result.vendors] == [("novyyvendor", "Новый Вендор")]
        assert product.vendor == "novyyvendor"

    def test_a_status_column_retires(self) -> None:
        result = plan("sku;status\nKL-KIS;снят с продажи\n", [existing()])
        assert [(o.sku, o.changes) for o in result.retired] == [("KL-KIS", ("active",))]
        assert result.products[0].active is False

    def test_retire_missing_deactivates_the_vendors_unlisted_products(self) -> None:
        others = [existing(sku="KL-OLD"), existing(sku="ES-X", vendor="eset")]
        result = plan(
            "sku;price\nKL-KIS;1790\n", [existing(), *others], retire_missing_of="kaspersky"
        )
        assert [o.sku for o in result.retired] == ["KL-OLD"]
        assert result.unchanged == 1

    def test_predecessor_must_exist(self) -> None:
        result = plan(
            "sku;name;price;vendor;predecessor_sku\n"
            "KL-KIS-26;KIS 2026;1990;Kaspersky;KL-KIS\n"
            "KL-X;X;1990;Kaspersky;NOPE\n",
            [existing()],
        )
        assert [p.sku for p in result.products] == ["KL-KIS-26"]
        assert result.products[0].predecessor_sku == "KL-KIS"
        assert result.refused[0].reason == "unknown predecessor 'NOPE'"

    def test_json_required_fields_and_types(self) -> None:
        row = RawRow(
            1,
            {
                "sku": "KL-KSOS",
                "name": "KSOS",
                "price": Decimal("5900"),
                "vendor": "Kaspersky",
                "kind": "подписка",
                "vat_rate": "22",
                "required_fields": [{"name": "partner_pin", "pattern": "^[0-9]{6}$"}],
            },
        )
        result = plan_import([row], {}, Directory(VENDORS, CATEGORIES))
        (product,) = result.products
        assert product.kind == "subscription"
        assert product.vat_rate == "22"
        assert product.required_fields[0].title == "partner_pin"

    def test_unreadable_lines_are_refused(self) -> None:
        result = plan("sku;price\nA;1;x\n")
        assert result.refused[0].line == 2


class TestVatAndVersions:
    def test_vat_must_be_in_force_on_the_import_day(self) -> None:
        from datetime import date

        csv = "sku;name;price;vendor;vat\nA-1;Book;100;ESET;20%\nA-2;Book;100;ESET;standard\n"
        result = plan(csv, day=date(2026, 3, 1))
        assert [r.sku for r in result.refused] == ["A-1"]
        assert "not in force" in result.refused[0].reason
        assert [p.vat_rate for p in result.products] == ["22"]
        assert {p.vat_rate for p in plan(csv, day=date(2025, 3, 1)).products} == {"20"}

    def test_a_new_version_retires_its_predecessor_when_asked(self) -> None:
        csv = (
            "sku;name;price;vendor;version;predecessor_sku\n"
            "KL-KIS-26;Kaspersky Internet Security;1990;Kaspersky;2026;KL-KIS\n"
        )
        kept = plan(csv, [existing()])
        assert kept.retired == []
        result = plan(csv, [existing()], retire_predecessors=True)
        assert [(o.line, o.sku) for o in result.retired] == [(2, "KL-KIS")]
        by_sku = {p.sku: p for p in result.products}
        assert by_sku["KL-KIS"].active is False
        assert by_sku["KL-KIS"].revision == 2
        assert by_sku["KL-KIS-26"].predecessor_sku == "KL-KIS"


class TestCategoryTree:
    def test_path_runs_from_the_root(self) -> None:
        from catalog.domain.model import CategoryTree

        tree = CategoryTree(CATEGORIES)
        assert [c.id for c in tree.path("antivirus")] == ["security", "antivirus"]
        assert tree.name("antivirus") == "Антивирусы"
        assert tree.path("missing") == []

    def test_a_cycle_does_not_loop(self) -> None:
        from catalog.domain.model import CategoryTree

        tree = CategoryTree([Category("a", "A", "b"), Category("b", "B", "a")])
        assert [c.id for c in tree.path("a")] == ["b", "a"]

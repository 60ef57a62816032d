"""Every feed format parsed back and checked against the offers it was written from."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from esd_feeds.offers import FeedCategory, Offer, RequiredFieldSpec
from esd_feeds.writers import FORMATS, write_feed
from esd_feeds.writers.commerceml_feed import NAMESPACE

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
CATEGORIES = [
    FeedCategory("security", "Безопасность"),
    FeedCategory("antivirus", "Антивирусы", "security"),
    FeedCategory("books", "Книги"),
    FeedCategory("audiobooks", "Аудиокниги", "books"),
]
PIN = RequiredFieldSpec("partner_pin", "PIN-код партнёра Kaspersky", r"^[0-9]{6}$")
OFFERS = [
    Offer(
        "KL-KIS-2D-1Y-N",
        "Kaspersky Internet Security, 2 устройства, 1 год",
        "Kaspersky",
        "2021",
        "Антивирусы",
        "key",
        Decimal("2590.00"),
        "exempt",
        "https://www.kaspersky.ru/download/esd/kl-kis-2d-1y-n",
        vendor_id="kaspersky",
        category_id="antivirus",
    ),
    Offer(
        "KL-KSOS-5-1Y-N",
        'Kaspersky Small Office Security; "5 ПК" & <сервер>',
        "Kaspersky",
        "8",
        "Защита бизнеса",
        "key",
        Decimal("5890.00"),
        "exempt",
        "",
        vendor_id="kaspersky",
        category_id="business-security",
        required_fields=(PIN,),
    ),
    Offer(
        "LR-AB001",
        "Л. Н. Толстой. Война и мир. Аудиокнига",
        "ЛитРес",
        "",
        "Аудиокниги",
        "key",
        Decimal("699.00"),
        "22",
        "https://www.litres.ru/x",
        vendor_id="litres",
        category_id="audiobooks",
    ),
    Offer(
        "AE-PS-IND-1M",
        "Adobe Photoshop, для частных лиц, 1 месяц",
        "Adobe",
        "2026",
        "Графические редакторы",
        "subscription",
        Decimal("2490.50"),
        "exempt",
        "https://www.adobe.com/x",
        active=False,
        vendor_id="adobe",
        category_id=None,
    ),
]


def render(fmt: str, offers: list[Offer] = OFFERS, **kw: object) -> str:
    return "".join(write_feed(fmt, offers, CATEGORIES, generated_at=NOW, **kw))  # type: ignore[arg-type]


class TestJson:
    def test_round_trips_the_spec_product(self) -> None:
        document = json.loads(render("json"))
        assert document["items"] == [o.as_resource() for o in OFFERS]
        assert document["items"][0]["price"] == "2590.00"
        assert document["only_changes"] is False

    def test_empty_catalog(self) -> None:
        assert json.loads(render("json", []))["items"] == []


class TestXml:
    def test_round_trips_fields_and_required_fields(self) -> None:
        root = ET.fromstring(render("xml", only_changes=True))
        assert root.tag == "catalog"
        assert root.get("only_changes") == "true"
        products = root.findall("items/product")
        assert [p.findtext("sku") for p in products] == [o.sku for o in OFFERS]
        second = products[1]
        assert second.findtext("name") == OFFERS[1].name
        assert second.findtext("required_fields/required_field/pattern") == r"^[0-9]{6}$"
        assert products[3].findtext("active") == "false"
        assert products[3].findtext("price") == "2490.50"


class TestCsv:
    def test_excel_csv_round_trips(self) -> None:
        text = render("csv")
        assert text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
        assert [r["sku"] for r in rows] == [o.sku for o in OFFERS]
        assert rows[1]["name"] == OFFERS[1].name
        assert json.loads(rows[1]["required_fields"])[0]["name"] == "partner_pin"
        assert rows[0]["required_fields"] == ""
        assert [Decimal(r["price"]) for r in rows] == [o.price for o in OFFERS]
        assert rows[3]["active"] == "false"


YML_OFFER_ORDER = [
    "url",
    "price",
    "currencyId",
    "categoryId",
    "name",
    "vendor",
    "vendorCode",
    "downloadable",
    "param",
]


class TestYml:
    def test_follows_the_yml_rules(self) -> None:
        root = ET.fromstring(render("yml"))
        assert root.tag == "yml_catalog"
        datetime.fromisoformat(root.get("date", ""))
        shop = root.find("shop")
        assert shop is not None
        assert [child.tag for child in shop] == [
            "name",
            "company",
            "url",
            "currencies",
            "categories",
            "offers",
        ]
        assert len(shop.findtext("name", "")) <= 20
        currencies = {c.get("id") for c in shop.findall("currencies/currency")}
        categories = {c.get("id"): c for c in shop.findall("categories/category")}
        for number, category in categories.items():
            assert re.fullmatch(r"[1-9][0-9]{0,17}", number or "")
            assert category.get("parentId") in (None, *categories)
        offers = shop.findall("offers/offer")
        assert [o.get("id") for o in offers] == [o.sku for o in OFFERS]
        for element, offer in zip(offers, OFFERS, strict=True):
            assert re.fullmatch(r"[0-9A-Za-z._/-]{1,80}", element.get("id", ""))
            assert element.get("available") == ("true" if offer.active else "false")
            assert element.findtext("currencyId") in currencies
            assert element.findtext("categoryId") in categories
            assert Decimal(element.findtext("price", "")) == offer.price
            assert element.findtext("name") == offer.name
            assert element.findtext("vendor") == offer.vendor
            order = [YML_OFFER_ORDER.index(child.tag) for child in element]
            assert order == sorted(order)

    def test_categories_keep_their_tree_and_stable_ids(self) -> None:
        first = ET.fromstring(render("yml"))
        again = ET.fromstring(render("yml", OFFERS[:1]))
        ids = {c.text: c.get("id") for c in first.iter("category")}
        assert ids == {c.text: c.get("id") for c in again.iter("category")}
        names = {c.get("id"): c.text for c in first.iter("category")}
        antivirus = next(c for c in first.iter("category") if c.text == "Антивирусы")
        assert names[antivirus.get("parentId")] == "Безопасность"
        by_sku = {o.get("id"): o for o in first.iter("offer")}
        assert names[by_sku["KL-KIS-2D-1Y-N"].findtext("categoryId")] == "Антивирусы"
        assert names[by_sku["AE-PS-IND-1M"].findtext("categoryId")] == "Прочее"


def cml(tag: str) -> str:
    return "/".join(f"{{{NAMESPACE}}}{part}" for part in tag.split("/"))


class TestCommerceMl:
    def test_follows_the_commerceml_rules(self) -> None:
        root = ET.fromstring(render("commerceml", only_changes=True))
        assert root.tag == cml("КоммерческаяИнформация")
        assert root.get("ВерсияСхемы") == "2.10"
        assert [child.tag for child in root] == [
            cml("Классификатор"),
            cml("Каталог"),
            cml("ПакетПредложений"),
        ]
        classifier_id = root.findtext(cml("Классификатор/Ид"))
        groups = {g.findtext(cml("Ид")): g for g in root.iter(cml("Группа"))}
        assert {"security", "antivirus", "books", "audiobooks", "other"} <= groups.keys()
        security = groups["security"]
        assert security.find(cml("Группы/Группа/Ид")).text == "antivirus"  # type: ignore[union-attr]

        catalog = root.find(cml("Каталог"))
        assert catalog is not None
        assert catalog.get("СодержитТолькоИзменения") == "true"
        assert catalog.findtext(cml("ИдКлассификатора")) == classifier_id
        goods = catalog.findall(cml("Товары/Товар"))
        assert [g.findtext(cml("Ид")) for g in goods] == [o.sku for o in OFFERS]
        for good in goods:
            assert good.findtext(cml("Группы/Ид")) in groups
        kis = goods[0]
        assert kis.findtext(cml("Изготовитель/Наименование")) == "Kaspersky"
        assert kis.findtext(cml("СтавкиНалогов/СтавкаНалога/Ставка")) == "Без налога"
        assert goods[2].findtext(cml("СтавкиНалогов/СтавкаНалога/Ставка")) == "22"
        assert goods[1].findtext(cml("Наименование")) == OFFERS[1].name

        package = root.find(cml("ПакетПредложений"))
        assert package is not None
        assert package.findtext(cml("ИдКаталога")) == catalog.findtext(cml("Ид"))
        assert package.findtext(cml("ИдКлассификатора")) == classifier_id
        price_types = {t.findtext(cml("Ид")) for t in package.iter(cml("ТипЦены"))}
        offers = package.findall(cml("Предложения/Предложение"))
        assert [o.findtext(cml("Ид")) for o in offers] == [o.sku for o in OFFERS]
        for element, offer in zip(offers, OFFERS, strict=True):
            price = element.find(cml("Цены/Цена"))
            assert price is not None
            assert price.findtext(cml("ИдТипаЦены")) in price_types
            assert Decimal(price.findtext(cml("ЦенаЗаЕдиницу"), "")) == offer.price
            assert price.findtext(cml("Валюта")) == "RUB"

    def test_a_one_shot_iterator_source_must_be_a_function(self) -> None:
        calls: list[int] = []

        def source() -> Iterator[Offer]:
            calls.append(1)
            return iter(OFFERS)

        root = ET.fromstring(
            "".join(write_feed("commerceml", source, CATEGORIES, generated_at=NOW))
        )
        assert len(calls) == 2
        assert len(root.findall(cml("ПакетПредложений/Предложения/Предложение"))) == len(OFFERS)


class TestStreaming:
    def test_unknown_format(self) -> None:
        with pytest.raises(ValueError, match="format"):
            write_feed("pdf", OFFERS, generated_at=NOW)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_a_large_catalog_streams_in_small_memory(self, fmt: str) -> None:
        count = 10_000

        def many() -> Iterator[Offer]:
            base = OFFERS[1]
            for n in range(count):
                yield Offer(
                    f"SKU-{n}",
                    f"{base.name} {n}",
                    base.vendor,
                    "1",
                    base.category,
                    "key",
                    Decimal("100.00") + n,
                    "exempt",
                    "https://x/y",
                    vendor_id="v",
                    category_id="antivirus",
                    required_fields=base.required_fields,
                )

        tracemalloc.start()
        total = 0
        chunks = 0
        for chunk in write_feed(fmt, many, CATEGORIES, generated_at=NOW):
            total += len(chunk)
            chunks += 1
            assert len(chunk) < 256 * 1024
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert chunks > 10
        assert peak < min(total // 2, 4 * 1024 * 1024), f"{fmt}: peak {peak} for {total} chars"


class TestFromEvents:
    def test_offer_and_tree_from_product_changed_json(self) -> None:
        from esd_feeds.offers import categories_from_paths, offer_from_product

        event: dict[str, Any] = {
            "sku": "KL-KSOS-5-1Y-N",
            "name": "KSOS",
            "vendor": "Kaspersky",
            "version": "8",
            "category": "Защита бизнеса",
            "kind": "key",
            "base_price": "5890.00",
            "vat_rate": "exempt",
            "download_url": "https://x",
            "active": True,
            "vendor_id": "kaspersky",
            "category_id": "business-security",
            "category_path": [
                {"id": "security", "name": "Безопасность"},
                {"id": "business-security", "name": "Защита бизнеса"},
            ],
            "required_fields": [{"name": "partner_pin", "title": "PIN", "pattern": "^[0-9]{6}$"}],
        }
        offer = offer_from_product(event, Decimal("5300.00"))
        assert offer.price == Decimal("5300.00")
        assert offer.required_fields[0].pattern == "^[0-9]{6}$"
        assert offer_from_product(event).price == Decimal("5890.00")
        tree = categories_from_paths([event["category_path"], event["category_path"][:1]])
        assert tree == [
            FeedCategory("security", "Безопасность"),
            FeedCategory("business-security", "Защита бизнеса", "security"),
        ]


class TestEscaping:
    @pytest.mark.parametrize("fmt", ["xml", "yml", "commerceml"])
    def test_markup_quotes_and_forbidden_characters_survive_a_parse(self, fmt: str) -> None:
        nasty = Offer(
            "NASTY-1",
            'A\x01B & "C"\n<D> \ufffe',
            'Vendor "Quoted" & Co\t<x>',
            "1",
            "Прочее",
            "key",
            Decimal("1.00"),
            "exempt",
            "https://example.ru/?a=1&b=2",
        )
        root = ET.fromstring(render(fmt, [nasty]))
        local = {"name", "Наименование"}
        names = [e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] in local]
        assert 'AB & "C"\n<D> ' in names
        texts = {e.text for e in root.iter()}
        assert 'Vendor "Quoted" & Co\t<x>' in texts
        assert "https://example.ru/?a=1&b=2" in texts

"""The catalog as partners see it through the gateway: partner prices everywhere (products,
feeds, order intake), feeds in five formats parsed back, ETag/304, ``since``, search, paging
and the price-rule replica. The catalog service is not running here: products and rules arrive
as the events it would publish."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from esd_contracts.catalog.events import CategoryRef, PriceAdjustment, PriceRuleChanged
from gateway.adapters.catalog import refresh_search_text
from gateway.adapters.feed_cache import cache_for
from gateway.runtime import Gateway
from lxml import etree
from sqlalchemy import text

from services.gateway.tests.integration.helpers import (
    OPS,
    VALID_INN,
    bearer,
    product,
    publish,
    scalar,
    seed_products,
    wait_for,
)

pytestmark = pytest.mark.integration

CML = "urn:1C.ru:commerceml_2"
SHOPS_DTD = Path(__file__).parent / "yml_shops.dtd"
SECURITY = CategoryRef(id="security", name="Безопасность")
ANTIVIRUS = CategoryRef(id="antivirus", name="Антивирусы")
OFFICE = CategoryRef(id="office", name="Офис")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def item(sku: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "occurred_at": T0,
        "vendor_id": "kaspersky",
        "category": "Антивирусы",
        "category_id": "antivirus",
        "category_path": (SECURITY, ANTIVIRUS),
    }
    values.update(overrides)
    return product(sku, **values)


PRODUCTS = [
    item("KL-KIS-1Y", name="Kaspersky Internet Security, 1 год", base_price=Decimal("1500.00")),
    item("KL-KTS-1Y", name="Kaspersky Total Security, 1 год", base_price=Decimal("2300.00")),
    item(
        "DRW-SS-1Y",
        name="Dr.Web Security Space, 1 год",
        vendor="Доктор Веб",
        vendor_id="drweb",
        base_price=Decimal("1990.00"),
    ),
    item(
        "MS-O365-1M",
        name="Microsoft 365 персональный, месяц",
        vendor="Microsoft",
        vendor_id="microsoft",
        kind="subscription",
        category="Офис",
        category_id="office",
        category_path=(OFFICE,),
        base_price=Decimal("399.00"),
        vat_rate="22",
    ),
    item(
        "1C-BUH-BASE",
        name="1С:Бухгалтерия 8. Базовая версия",
        vendor="1С",
        vendor_id="1c",
        category="Офис",
        category_id="office",
        category_path=(OFFICE,),
        base_price=Decimal("4700.00"),
        required_fields=(),
    ),
    item(
        "YO-ELKA",
        name="Ёлка: новогодний редактор открыток",
        vendor="Ёжик Софт",
        vendor_id="ezhik",
        category="Графика",
        category_id=None,
        category_path=(),
        base_price=Decimal("100.00"),
    ),
    item("KL-OLD-2020", name="Kaspersky Anti-Virus 2020", active=False),
]
ACTIVE = {p.sku: p for p in PRODUCTS if p.active}


def changed(original: Any, **update: Any) -> Any:
    """The next version of a product, as a new message (a copy keeps the message id)."""
    return original.model_copy(update={"message_id": uuid.uuid4(), **update})


@dataclass
class Partner:
    partner_id: uuid.UUID
    reseller_id: str
    headers: dict[str, str]


async def new_partner(
    client: httpx.AsyncClient, distributor: Partner | None = None, inn: str = VALID_INN
) -> Partner:
    body: dict[str, Any] = {
        "company_name": "ООО Ромашка",
        "inn": inn,
        "email": "sales@romashka.example",
        "region": "Москва",
    }
    if distributor is not None:
        body["distributor_reseller_id"] = distributor.reseller_id
    applied = await client.post("/api/v1/applications", json=body)
    assert applied.status_code == 201, applied.text
    approved = await client.post(
        f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
    )
    assert approved.status_code == 200, approved.text
    data = approved.json()
    return Partner(uuid.UUID(data["partner_id"]), data["reseller_id"], bearer(data["api_key"]))


async def set_rule(
    gateway: Gateway,
    scope: str,
    owner: Partner,
    revision: int,
    *adjustments: PriceAdjustment,
    removed: bool = False,
) -> None:
    await publish(
        gateway,
        PriceRuleChanged(
            correlation_id=owner.partner_id,
            occurred_at=datetime.now(UTC),
            scope=scope,
            owner_id=owner.partner_id,
            revision=revision,
            adjustments=adjustments,
            removed=removed,
        ),
    )

    async def arrived() -> bool:
        found = await scalar(
            gateway,
            "SELECT revision FROM price_rules WHERE scope = :s AND owner_id = :o",
            s=scope,
            o=owner.partner_id,
        )
        return found is not None and int(found) >= revision

    await wait_for(arrived)


@dataclass
class World:
    client: httpx.AsyncClient
    gateway: Gateway
    plain: Partner
    """No price rule at all: base prices."""
    discounted: Partner
    """Own rule: -10 % on Kaspersky, a fixed price for KL-KTS-1Y, +5 % on everything else."""
    distributor: Partner
    """A regional distributor: -20 % on the category 'security' for its partners."""
    under_distributor: Partner
    """A partner under the distributor, with no rule of its own."""


@pytest.fixture(scope="module")
async def world(running: tuple[httpx.AsyncClient, Gateway]) -> World:
    client, gateway = running
    await seed_products(gateway, *PRODUCTS)
    plain = await new_partner(client)
    discounted = await new_partner(client)
    distributor = await new_partner(client)
    under = await new_partner(client, distributor=distributor)
    await set_rule(
        gateway,
        "partner",
        discounted,
        1,
        PriceAdjustment(percent=Decimal("-10"), vendor_id="kaspersky"),
        PriceAdjustment(fixed_price=Decimal("1999.00"), sku="KL-KTS-1Y"),
        PriceAdjustment(percent=Decimal("5")),
    )
    await set_rule(
        gateway,
        "distributor",
        distributor,
        1,
        PriceAdjustment(percent=Decimal("-20"), category_id="security"),
    )
    return World(client, gateway, plain, discounted, distributor, under)


def expected_prices(world: World, partner: Partner) -> dict[str, str]:
    base = {sku: p.base_price for sku, p in ACTIVE.items()}
    if partner is world.discounted:
        prices = {sku: price * Decimal("1.05") for sku, price in base.items()}
        prices.update(
            {
                sku: base[sku] * Decimal("0.9")
                for sku, p in ACTIVE.items()
                if p.vendor_id == "kaspersky"
            }
        )
        prices["KL-KTS-1Y"] = Decimal("1999.00")
    elif partner is world.under_distributor:
        prices = {
            sku: base[sku] * (Decimal("0.8") if p.category_id == "antivirus" else 1)
            for sku, p in ACTIVE.items()
        }
    else:
        prices = dict(base)
    return {sku: f"{price.quantize(Decimal('0.01')):.2f}" for sku, price in prices.items()}


async def export(world: World, partner: Partner, fmt: str, **params: str) -> httpx.Response:
    return await world.client.get(
        "/api/v1/catalog/export", params={"format": fmt, **params}, headers=partner.headers
    )


# -- reading each format back ---------------------------------------------------------------------


def prices_in(fmt: str, body: bytes) -> dict[str | None, str | None]:
    """sku → price as the feed states it, parsed with the format's own reader (None where the
    feed leaves one out)."""
    if fmt == "json":
        return {i["sku"]: i["price"] for i in json.loads(body)["items"]}
    if fmt == "xml":
        root = ET.fromstring(body)
        return {p.findtext("sku"): p.findtext("price") for p in root.iter("product")}
    if fmt == "csv":
        text = body.decode("utf-8-sig")
        return {r["sku"]: r["price"] for r in csv.DictReader(io.StringIO(text), delimiter=";")}
    if fmt == "yml":
        root = ET.fromstring(body)
        return {o.get("id"): o.findtext("price") for o in root.iter("offer")}
    root = ET.fromstring(body)
    return {
        o.findtext(f"{{{CML}}}Ид"): o.findtext(
            f"{{{CML}}}Цены/{{{CML}}}Цена/{{{CML}}}ЦенаЗаЕдиницу"
        )
        for o in root.iter(f"{{{CML}}}Предложение")
    }


FORMATS = ("json", "xml", "csv", "commerceml", "yml")


class TestExport:
    @pytest.mark.parametrize("fmt", FORMATS)
    async def test_each_format_lists_the_active_catalog_at_this_partners_prices(
        self, world: World, fmt: str
    ) -> None:
        for partner in (world.plain, world.discounted, world.under_distributor):
            answer = await export(world, partner, fmt)
            assert answer.status_code == 200, answer.text
            assert answer.headers["etag"].startswith('"')
            assert prices_in(fmt, answer.content) == expected_prices(world, partner)

    async def test_json_items_are_the_spec_product_resource(self, world: World) -> None:
        answer = await export(world, world.discounted, "json")
        assert answer.headers["content-type"].startswith("application/json")
        items = {i["sku"]: i for i in answer.json()["items"]}
        assert items["MS-O365-1M"] == {
            "sku": "MS-O365-1M",
            "name": "Microsoft 365 персональный, месяц",
            "vendor": "Microsoft",
            "version": "2026",
            "category": "Офис",
            "kind": "subscription",
            "price": "418.95",
            "currency": "RUB",
            "vat_rate": "22",
            "required_fields": [],
            "download_url": "https://products.s.kaspersky-labs.com/kis.exe",
            "active": True,
        }
        # the same resource as the products endpoint answers
        one = await world.client.get(
            "/api/v1/catalog/products/MS-O365-1M", headers=world.discounted.headers
        )
        assert one.json() == items["MS-O365-1M"]

    async def test_yml_is_valid_against_the_shops_dtd(self, world: World) -> None:
        answer = await export(world, world.discounted, "yml")
        document = etree.fromstring(answer.content)
        dtd = etree.DTD(str(SHOPS_DTD))
        assert dtd.validate(document), dtd.error_log.filter_from_errors()
        shop = document.find("shop")
        assert shop is not None
        categories = {c.get("id"): c for c in shop.iterfind("categories/category")}
        names = {number: c.text for number, c in categories.items()}
        for category in categories.values():
            assert category.get("parentId") in (None, *categories)
        antivirus = next(c for c in categories.values() if c.text == "Антивирусы")
        assert names[antivirus.get("parentId")] == "Безопасность"
        offers = {o.get("id"): o for o in shop.iterfind("offers/offer")}
        assert names[offers["KL-KIS-1Y"].findtext("categoryId")] == "Антивирусы"
        # a product that carries only a category name is listed under it, not lost
        assert names[offers["YO-ELKA"].findtext("categoryId")] == "Графика"
        assert offers["MS-O365-1M"].findtext("currencyId") == "RUR"

    async def test_commerceml_has_classifier_catalog_and_offers_package(self, world: World) -> None:
        answer = await export(world, world.under_distributor, "commerceml")
        root = ET.fromstring(answer.content)

        def tag(path: str) -> str:
            return "/".join(f"{{{CML}}}{part}" for part in path.split("/"))

        assert root.tag == tag("КоммерческаяИнформация")
        assert root.get("ВерсияСхемы") == "2.10"
        assert [child.tag for child in root] == [
            tag("Классификатор"),
            tag("Каталог"),
            tag("ПакетПредложений"),
        ]
        classifier = root.findtext(tag("Классификатор/Ид"))
        groups = {g.findtext(tag("Ид")): g for g in root.iter(tag("Группа"))}
        security = groups["security"]
        assert security.findtext(tag("Группы/Группа/Ид")) == "antivirus"
        catalog = root.find(tag("Каталог"))
        assert catalog is not None
        assert catalog.get("СодержитТолькоИзменения") == "false"
        assert catalog.findtext(tag("ИдКлассификатора")) == classifier
        goods = catalog.findall(tag("Товары/Товар"))
        assert sorted(g.findtext(tag("Ид"), "") for g in goods) == sorted(ACTIVE)
        for good in goods:
            assert good.findtext(tag("Группы/Ид")) in groups
        package = root.find(tag("ПакетПредложений"))
        assert package is not None
        assert package.findtext(tag("ИдКаталога")) == catalog.findtext(tag("Ид"))
        price_types = {t.findtext(tag("Ид")) for t in package.iter(tag("ТипЦены"))}
        offers = package.findall(tag("Предложения/Предложение"))
        assert [o.findtext(tag("Ид")) for o in offers] == [g.findtext(tag("Ид")) for g in goods]
        for offer in offers:
            assert offer.findtext(tag("Цены/Цена/ИдТипаЦены")) in price_types

    async def test_csv_opens_in_excel_and_parses(self, world: World) -> None:
        answer = await export(world, world.plain, "csv")
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.content.startswith("\ufeff".encode())
        rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
        assert {r["sku"] for r in rows} == set(ACTIVE)
        buh = next(r for r in rows if r["sku"] == "1C-BUH-BASE")
        assert buh["name"] == "1С:Бухгалтерия 8. Базовая версия"
        assert buh["active"] == "true"

    async def test_the_body_is_streamed_not_sized_up_front(self, world: World) -> None:
        async with world.client.stream(
            "GET", "/api/v1/catalog/export?format=yml", headers=world.plain.headers
        ) as answer:
            assert answer.status_code == 200
            assert "content-length" not in answer.headers
            body = b"".join([chunk async for chunk in answer.aiter_bytes()])
        assert body.rstrip().endswith(b"</yml_catalog>")

    async def test_without_format_json_or_xml_as_accepted(self, world: World) -> None:
        plain = await world.client.get("/api/v1/catalog/export", headers=world.plain.headers)
        assert plain.headers["content-type"].startswith("application/json")
        assert prices_in("json", plain.content) == expected_prices(world, world.plain)
        xml = await world.client.get(
            "/api/v1/catalog/export",
            headers={**world.plain.headers, "Accept": "application/xml"},
        )
        assert xml.headers["content-type"].startswith("application/xml")
        assert prices_in("xml", xml.content) == expected_prices(world, world.plain)

    async def test_a_partner_key_is_required(self, world: World) -> None:
        answer = await world.client.get("/api/v1/catalog/export?format=json")
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"

    @pytest.mark.parametrize(
        "params",
        [
            {"format": "pdf"},
            {"format": "json", "since": "yesterday"},
            {"since": "2026-01-01T00:00"},
        ],
    )
    async def test_bad_format_or_since_is_422(self, world: World, params: dict[str, str]) -> None:
        answer = await world.client.get(
            "/api/v1/catalog/export", params=params, headers=world.plain.headers
        )
        assert answer.status_code in (400, 422), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "validation_error"


class TestEtag:
    async def test_same_catalog_same_tag_and_304(self, world: World) -> None:
        first = await export(world, world.plain, "commerceml")
        again = await export(world, world.plain, "commerceml")
        assert first.headers["etag"] == again.headers["etag"]
        assert first.content == again.content
        cached = await world.client.get(
            "/api/v1/catalog/export?format=commerceml",
            headers={**world.plain.headers, "If-None-Match": first.headers["etag"]},
        )
        assert cached.status_code == 304
        assert cached.headers["etag"] == first.headers["etag"]
        assert cached.content == b""
        stale = await world.client.get(
            "/api/v1/catalog/export?format=commerceml",
            headers={**world.plain.headers, "If-None-Match": '"something-else"'},
        )
        assert stale.status_code == 200

    async def test_tag_differs_by_format_and_by_partners_prices(self, world: World) -> None:
        tags = {
            (partner.partner_id, fmt): (await export(world, partner, fmt)).headers["etag"]
            for partner in (world.plain, world.discounted)
            for fmt in ("json", "yml")
        }
        assert len(set(tags.values())) == 4

    async def test_a_product_change_or_a_rule_change_makes_a_new_tag(self, world: World) -> None:
        partner = await new_partner(world.client)
        before = (await export(world, partner, "json")).headers["etag"]
        await set_rule(world.gateway, "partner", partner, 1, PriceAdjustment(percent=Decimal("-1")))
        after_rule = await export(world, partner, "json")
        assert after_rule.headers["etag"] != before
        # the new tag is new bytes too (a feed kept by its old tag is not served again)
        prices = {i["sku"]: i["price"] for i in after_rule.json()["items"]}
        assert prices["KL-KIS-1Y"] == "1485.00"
        probe = item(
            "ZZ-ETAG-1",
            name="Etag probe",
            vendor="Probe Soft",
            vendor_id="probe",
            occurred_at=datetime.now(UTC),
        )
        await seed_products(world.gateway, probe)
        after_product = await export(world, partner, "json")
        assert after_product.headers["etag"] != after_rule.headers["etag"]
        assert "ZZ-ETAG-1" in {i["sku"] for i in after_product.json()["items"]}
        ACTIVE["ZZ-ETAG-1"] = probe

    async def test_a_served_feed_is_ready_in_memory_after_a_change_before_it_is_asked(
        self, world: World
    ) -> None:
        partner = await new_partner(world.client)
        first = await export(world, partner, "yml")
        cache = cache_for(world.gateway.service.engine)
        rendered = cache.rendered_ahead
        probe = item(
            "ZZ-AHEAD-1",
            name="Ahead probe",
            vendor="Probe Soft",
            vendor_id="probe",
            occurred_at=datetime.now(UTC),
        )
        await seed_products(world.gateway, probe)
        ACTIVE["ZZ-AHEAD-1"] = probe

        async def rendered_ahead() -> bool:
            return cache.rendered_ahead > rendered

        await wait_for(rendered_ahead)
        await cache.settled()  # a round an earlier change started may have come first
        hits = cache.hits
        after = await export(world, partner, "yml")
        assert after.headers["etag"] != first.headers["etag"]
        assert "ZZ-AHEAD-1" in prices_in("yml", after.content)
        assert cache.hits == hits + 1  # answered from memory: rendered before it was asked


class TestSince:
    async def test_since_lists_only_what_changed_after_it_retired_ones_as_inactive(
        self, world: World
    ) -> None:
        moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        later = moment + timedelta(hours=1)
        repriced = changed(
            ACTIVE["DRW-SS-1Y"], revision=2, base_price=Decimal("2100.00"), occurred_at=later
        )
        retired = changed(ACTIVE["YO-ELKA"], revision=2, active=False, occurred_at=later)
        await seed_products(world.gateway, repriced, retired)
        try:
            since = moment.astimezone(timezone(timedelta(hours=3))).isoformat()
            delta = await export(world, world.plain, "json", since=since)
            assert delta.status_code == 200, delta.text
            body = delta.json()
            assert body["only_changes"] is True
            items = {i["sku"]: i for i in body["items"]}
            assert set(items) == {"DRW-SS-1Y", "YO-ELKA"}
            assert items["DRW-SS-1Y"]["price"] == "2100.00"
            assert items["YO-ELKA"]["active"] is False
            cml = await export(world, world.plain, "commerceml", since=since)
            assert 'СодержитТолькоИзменения="true"' in cml.text
            # a '+' that a careless client left unencoded arrives as a space: still understood
            raw = await world.client.get(
                f"/api/v1/catalog/export?format=json&since={since}", headers=world.plain.headers
            )
            assert raw.status_code == 200
            assert {i["sku"] for i in raw.json()["items"]} == set(items)
            full = await export(world, world.plain, "json")
            assert "YO-ELKA" not in {i["sku"] for i in full.json()["items"]}
            nothing = await export(
                world, world.plain, "json", since=(later + timedelta(seconds=1)).isoformat()
            )
            assert nothing.json()["items"] == []
        finally:
            ACTIVE["DRW-SS-1Y"] = repriced
            ACTIVE.pop("YO-ELKA", None)


# -- products: prices, search, paging ------------------------------------------------------------


async def products(world: World, partner: Partner, **params: Any) -> dict[str, Any]:
    answer = await world.client.get(
        "/api/v1/catalog/products", params=params, headers=partner.headers
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


class TestProducts:
    async def test_list_and_one_at_this_partners_price(self, world: World) -> None:
        for partner in (world.plain, world.discounted, world.under_distributor):
            expected = expected_prices(world, partner)
            page = await products(world, partner, limit=500)
            listed = {i["sku"]: i["price"] for i in page["items"] if i["active"]}
            assert listed == expected
            one = await world.client.get(
                "/api/v1/catalog/products/KL-KTS-1Y", headers=partner.headers
            )
            assert one.json()["price"] == expected["KL-KTS-1Y"]

    @pytest.mark.parametrize(
        ("q", "skus"),
        [
            ("kaspersky total", {"KL-KTS-1Y"}),
            ("KASPERSKY", {"KL-KIS-1Y", "KL-KTS-1Y", "KL-OLD-2020"}),
            ("бухгалтерия", {"1C-BUH-BASE"}),
            ("БУХГАЛТЕРИЯ 8", {"1C-BUH-BASE"}),
            ("доктор", {"DRW-SS-1Y"}),
            ("елка", {"YO-ELKA"}),
            ("ЁЖИК", {"YO-ELKA"}),
            ("drw-ss", {"DRW-SS-1Y"}),
            ("100%_", set()),
            # a brand in the other alphabet (esd_feeds.search.BRAND_SPELLINGS)
            ("касперский", {"KL-KIS-1Y", "KL-KTS-1Y", "KL-OLD-2020"}),
            ("Касперского total", {"KL-KTS-1Y"}),
            ("майкрософт", {"MS-O365-1M"}),
            ("drweb", {"DRW-SS-1Y"}),
            # the names on a product's category path
            ("антивирусы доктор", {"DRW-SS-1Y"}),
            ("безопасность total", {"KL-KTS-1Y"}),
            ("офис", {"MS-O365-1M", "1C-BUH-BASE"}),
            ("графика", {"YO-ELKA"}),  # a category name without a path
        ],
    )
    async def test_search_over_name_sku_and_vendor(
        self, world: World, q: str, skus: set[str]
    ) -> None:
        page = await products(world, world.plain, q=q, limit=500)
        assert {i["sku"] for i in page["items"]} == skus

    async def test_a_migration_writes_every_products_search_text_again(self, world: World) -> None:
        """What 0009_search_categories runs on a replica written before categories were
        searched: the rows' search text from then, without the category names."""
        engine = world.gateway.service.engine
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE products SET search_text = lower(sku)"))
            replicated = (await conn.execute(text("SELECT count(*) FROM products"))).scalar()
        assert not (await products(world, world.plain, q="антивирусы доктор"))["items"]
        async with engine.begin() as conn:
            refreshed = await conn.run_sync(refresh_search_text)
        assert refreshed == replicated
        found = await products(world, world.plain, q="антивирусы доктор")
        assert [i["sku"] for i in found["items"]] == ["DRW-SS-1Y"]

    async def test_vendor_and_kind_filters(self, world: World) -> None:
        by_name = await products(world, world.plain, vendor="ДОКТОР ВЕБ")
        by_id = await products(world, world.plain, vendor="drweb")
        assert [i["sku"] for i in by_name["items"]] == ["DRW-SS-1Y"]
        assert by_id == by_name
        subs = await products(world, world.plain, kind="subscription")
        assert [i["sku"] for i in subs["items"]] == ["MS-O365-1M"]
        both = await products(world, world.plain, vendor="kaspersky", q="total")
        assert [i["sku"] for i in both["items"]] == ["KL-KTS-1Y"]

    async def test_paging_stays_stable_while_the_catalog_changes(self, world: World) -> None:
        before = [i["sku"] for i in (await products(world, world.plain, limit=500))["items"]]
        seen: list[str] = []
        page = await products(world, world.plain, limit=2)
        seen += [i["sku"] for i in page["items"]]
        # while the partner pages: a product appears before its position, one changes after it
        await seed_products(
            world.gateway,
            item("0-NEW-FIRST", name="Новинка", occurred_at=datetime.now(UTC)),
            changed(
                ACTIVE["MS-O365-1M"],
                revision=5,
                name="Microsoft 365 Персональный",
                occurred_at=datetime.now(UTC),
            ),
        )
        ACTIVE["0-NEW-FIRST"] = item("0-NEW-FIRST", name="Новинка")
        while page["next_cursor"]:
            page = await products(world, world.plain, limit=2, cursor=page["next_cursor"])
            seen += [i["sku"] for i in page["items"]]
        assert len(seen) == len(set(seen))
        assert [s for s in seen if s in before] == before

    async def test_a_bad_cursor_is_422(self, world: World) -> None:
        answer = await world.client.get(
            "/api/v1/catalog/products?cursor=%%%", headers=world.plain.headers
        )
        assert answer.status_code == 422
        assert answer.json()["code"] == "validation_error"


# -- order intake at the partner's price ---------------------------------------------------------


class TestOrderIntake:
    async def test_an_order_is_priced_with_the_partners_rule(self, world: World) -> None:
        answer = await world.client.post(
            "/api/v1/orders",
            json={"external_id": uuid.uuid4().hex, "sku": "KL-KTS-1Y", "quantity": 3},
            headers=world.discounted.headers,
        )
        assert answer.status_code in (201, 202), answer.text
        order = answer.json()
        assert order["unit_price"] == "1999.00"
        assert order["amount"] == "5997.00"
        distributed = await world.client.post(
            "/api/v1/orders",
            json={"external_id": uuid.uuid4().hex, "sku": "KL-KIS-1Y", "quantity": 1},
            headers=world.under_distributor.headers,
        )
        assert distributed.json()["unit_price"] == "1200.00"


# -- the price-rule replica ----------------------------------------------------------------------


class TestRuleReplica:
    async def test_an_older_or_repeated_revision_changes_nothing(self, world: World) -> None:
        partner = await new_partner(world.client)
        await set_rule(
            world.gateway, "partner", partner, 2, PriceAdjustment(percent=Decimal("-50"))
        )
        stale = PriceRuleChanged(
            correlation_id=partner.partner_id,
            occurred_at=datetime.now(UTC),
            scope="partner",
            owner_id=partner.partner_id,
            revision=1,
            adjustments=(PriceAdjustment(percent=Decimal("50")),),
        )
        await publish(world.gateway, stale)
        await publish(world.gateway, stale)  # redelivered
        await asyncio.sleep(0.5)
        one = await world.client.get("/api/v1/catalog/products/KL-KIS-1Y", headers=partner.headers)
        assert one.json()["price"] == "750.00"
        await set_rule(world.gateway, "partner", partner, 3, removed=True)
        one = await world.client.get("/api/v1/catalog/products/KL-KIS-1Y", headers=partner.headers)
        assert one.json()["price"] == "1500.00"

    async def test_ops_reads_the_rule_and_partners_cannot(self, world: World) -> None:
        answer = await world.client.get(
            f"/api/v1/admin/partners/{world.discounted.partner_id}/price-rule", headers=OPS
        )
        assert answer.status_code == 200, answer.text
        rule = answer.json()
        assert rule["revision"] == 1
        assert rule["adjustments"][1] == {"fixed_price": "1999.00", "sku": "KL-KTS-1Y"}
        forbidden = await world.client.get(
            f"/api/v1/admin/partners/{world.discounted.partner_id}/price-rule",
            headers=world.discounted.headers,
        )
        assert forbidden.status_code == 403
        missing = await world.client.get(
            f"/api/v1/admin/partners/{uuid.uuid4()}/price-rule", headers=OPS
        )
        assert missing.status_code == 404

"""The catalog end to end: ops imports vendors' price lists through the gateway, sets partner
price rules in the catalog service, and partners see their prices in the catalog, in the feeds
of the whole demo catalog and in the orders they place."""

from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from esd_platform.testing import isolated_settings
from sqlalchemy import text

from tests.support import OPS, Partner, Platform, eventually, running_platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    """The whole demo catalog, not the suite's compact one: the feeds are checked at the size
    partners import (3,370 products)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ESD_CATALOG_DEMO_SIZE", "full")
        async with isolated_settings() as settings, running_platform(settings) as running:
            yield running


MESSY_CSV = (
    "\ufeffАртикул;Наименование;Цена, руб.;Производитель;Категория;НДС\r\n"
    "E2E-NOD-1;ESET NOD32 Антивирус, 1 ПК, 1 год;1 390,00;ESET;Антивирусы;без НДС\r\n"
    "E2E-NOD-3;ESET NOD32 Антивирус, 3 ПК, 1 год;2 490,50;ESET;Антивирусы;без НДС\r\n"
    "E2E-BAD;ESET со сломанной ценой;дорого;ESET;Антивирусы;без НДС\r\n"
    "E2E-BOOK;Л. Н. Толстой. Война и мир. Аудиокнига;699;ЛитРес;;22%\r\n"
    "E2E-NOD-1;Дубль;1;ESET;;\r\n"
    ";Без артикула;100;ESET;;\r\n"
    "E2E-NONAME;;500;ESET;;\r\n"
)


async def import_list(
    platform: Platform, body: bytes, content_type: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    answer = await platform.client.post(
        "/api/v1/admin/catalog/import",
        content=body,
        params=params,
        headers={**OPS, "Content-Type": content_type},
        timeout=120,
    )
    return answer.status_code, answer.json()


async def product_of(platform: Platform, partner: Partner, sku: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        answer = await platform.client.get(
            f"/api/v1/catalog/products/{sku}", headers=partner.headers
        )
        if answer.status_code == 200:
            found.update(answer.json())
        return answer.status_code == 200

    await eventually(arrived, timeout=30)
    return found


class TestImport:
    async def test_a_messy_excel_price_list_imports_the_good_rows_and_reports_the_bad(
        self, platform: Platform
    ) -> None:
        partner = await platform.new_partner()
        status, report = await import_list(
            platform, MESSY_CSV.encode("utf-8"), "text/csv", filename="eset.csv"
        )
        assert status == 200, report
        assert report["rows"] == 7
        assert sorted(r["sku"] for r in report["added"]) == ["E2E-BOOK", "E2E-NOD-1", "E2E-NOD-3"]
        refused = {r["line"]: r for r in report["refused"]}
        assert set(refused) == {4, 6, 7, 8}
        assert refused[4]["sku"] == "E2E-BAD"
        assert "price" in refused[4]["reason"]
        assert "duplicate" in refused[6]["reason"]
        assert "line 2" in refused[6]["reason"]
        assert "sku" in refused[7]["reason"]
        assert "name" in refused[8]["reason"]
        nod3 = await product_of(platform, partner, "E2E-NOD-3")
        assert nod3["price"] == "2490.50"
        assert nod3["vendor"] == "ESET"
        assert nod3["vat_rate"] == "exempt"
        book = await product_of(platform, partner, "E2E-BOOK")
        assert book["vat_rate"] == "22"
        missing = await platform.client.get(
            "/api/v1/catalog/products/E2E-BAD", headers=partner.headers
        )
        assert missing.status_code == 404

    async def test_windows_1251_csv_and_a_json_list_change_and_retire(
        self, platform: Platform
    ) -> None:
        partner = await platform.new_partner()
        first = "sku,name,price,vendor\r\nE2E-1251,Антивирус Касперского,1000.00,Kaspersky\r\n"
        status, report = await import_list(platform, first.encode("cp1251"), "text/csv")
        assert status == 200, report
        assert [r["sku"] for r in report["added"]] == ["E2E-1251"]
        assert (await product_of(platform, partner, "E2E-1251"))["name"] == (
            "Антивирус Касперского"
        )
        changes = [
            {"sku": "E2E-1251", "price": "1100.00"},
            {"sku": "E2E-NOD-3", "active": False},
            {"sku": "E2E-JSON-BAD", "name": "Без цены", "vendor": "ESET"},
        ]
        status, report = await import_list(
            platform, json.dumps(changes).encode(), "application/json"
        )
        assert status == 200, report
        assert [(r["sku"], r["changes"]) for r in report["changed"]] == [
            ("E2E-1251", ["base_price"])
        ]
        assert [r["sku"] for r in report["retired"]] == ["E2E-NOD-3"]
        assert [(r["line"], r["sku"]) for r in report["refused"]] == [(3, "E2E-JSON-BAD")]

        async def repriced() -> bool:
            one = await platform.client.get(
                "/api/v1/catalog/products/E2E-1251", headers=partner.headers
            )
            return bool(one.json()["price"] == "1100.00")

        await eventually(repriced)
        # the same file again changes nothing (an import is idempotent by content)
        status, again = await import_list(
            platform, json.dumps(changes).encode(), "application/json"
        )
        assert again["changed"] == []
        assert again["retired"] == []
        assert again["unchanged"] == 2

    async def test_unreadable_or_unauthorised_imports_change_nothing(
        self, platform: Platform
    ) -> None:
        status, problem = await import_list(platform, b"{not json", "application/json")
        assert status == 422
        assert problem["code"] == "validation_error"
        status, problem = await import_list(platform, b"", "text/csv")
        assert status == 422
        # a list without a sku column: every row refused with its line, nothing applied
        no_sku = "Наименование;Цена\r\nАнтивирус;100\r\nОфис;200\r\n".encode()
        status, problem = await import_list(platform, no_sku, "text/csv")
        assert status == 422
        assert problem["code"] == "validation_error"
        assert [r["line"] for r in problem["refused"]] == [2, 3]
        assert "sku" in problem["refused"][0]["reason"]
        # a list without a price column: a new product cannot be added without its price
        no_price = "sku;name;vendor\r\nE2E-NEW-NOPRICE;Новый;ESET\r\n".encode()
        status, problem = await import_list(platform, no_price, "text/csv")
        assert status == 422
        assert "price" in problem["refused"][0]["reason"]
        status, problem = await import_list(platform, b"sku;name", "application/pdf")
        assert status == 415
        assert problem["code"] == "validation_error"
        partner = await platform.new_partner()
        answer = await platform.client.post(
            "/api/v1/admin/catalog/import",
            content=MESSY_CSV.encode(),
            headers={**partner.headers, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"


class TestPartnerPrices:
    async def test_a_rule_set_by_ops_prices_the_catalog_feeds_and_orders(
        self, platform: Platform
    ) -> None:
        partner = await platform.new_partner()
        other = await platform.new_partner()
        status, _ = await import_list(
            platform,
            b"sku;name;price;vendor\r\nE2E-RULE-1;Rule probe;1000,00;ESET\r\n"
            b"E2E-RULE-2;Fixed-price probe;1390,00;ESET\r\n",
            "text/csv",
        )
        assert status == 200
        base = await product_of(platform, partner, "E2E-RULE-1")
        assert base["price"] == "1000.00"

        answer = await platform.client.put(
            f"/api/v1/admin/partners/{partner.partner_id}/price-rule",
            json={
                "adjustments": [
                    {"percent": "-15", "vendor_id": "eset"},
                    {"fixed_price": "777.00", "sku": "E2E-RULE-2"},
                ]
            },
            headers=OPS,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["revision"] == 1
        # read-your-writes: the very next request sees the new price
        now = await platform.client.get(
            "/api/v1/catalog/products/E2E-RULE-1", headers=partner.headers
        )
        assert now.json()["price"] == "850.00"
        theirs = await platform.client.get(
            "/api/v1/catalog/products/E2E-RULE-1", headers=other.headers
        )
        assert theirs.json()["price"] == "1000.00"
        feed = await platform.client.get(
            "/api/v1/catalog/export?format=json", headers=partner.headers
        )
        prices = {i["sku"]: i["price"] for i in feed.json()["items"]}
        assert prices["E2E-RULE-1"] == "850.00"
        assert prices["E2E-RULE-2"] == "777.00"

        order = await platform.order(
            partner, {"external_id": uuid.uuid4().hex, "sku": "E2E-RULE-1", "quantity": 2}
        )
        assert order["unit_price"] == "850.00"
        assert order["amount"] == "1700.00"
        # a later price change never alters the order already accepted
        status, _ = await import_list(platform, b"sku;price\r\nE2E-RULE-1;2000,00\r\n", "text/csv")
        assert status == 200
        final = await platform.final_order(partner, order["id"])
        assert final["status"] == "completed", final
        assert final["unit_price"] == "850.00"
        assert final["amount"] == "1700.00"

        async def repriced() -> bool:
            one = await platform.client.get(
                "/api/v1/catalog/products/E2E-RULE-1", headers=partner.headers
            )
            return bool(one.json()["price"] == "1700.00")

        await eventually(repriced)

    async def test_an_invalid_rule_is_422_and_changes_nothing(self, platform: Platform) -> None:
        partner = await platform.new_partner()
        body: dict[str, Any]
        for body in (
            {"adjustments": [{"fixed_price": "10.00"}]},  # a fixed price needs a sku
            {"adjustments": [{"percent": "-5", "vendor_id": "no-such-vendor"}]},
            {"adjustments": [{"percent": "-5", "fixed_price": "1.00", "sku": "E2E-NOD-1"}]},
            {"adjustments": [{"percent": "NaN"}]},
            {"rules": []},
        ):
            answer = await platform.client.put(
                f"/api/v1/admin/partners/{partner.partner_id}/price-rule", json=body, headers=OPS
            )
            assert answer.status_code in (400, 422), (body, answer.text)
            assert answer.json()["code"] == "validation_error"
        missing = await platform.client.get(
            f"/api/v1/admin/partners/{partner.partner_id}/price-rule", headers=OPS
        )
        assert missing.status_code == 404
        unknown = await platform.client.put(
            f"/api/v1/admin/partners/{uuid.uuid4()}/price-rule",
            json={"adjustments": [{"percent": "-5"}]},
            headers=OPS,
        )
        assert unknown.status_code == 404

    async def test_a_distributors_rule_prices_its_partners_until_removed(
        self, platform: Platform
    ) -> None:
        distributor_id, reseller_id, _ = await approved(platform)
        partner_id, _, key = await approved(platform, distributor=reseller_id)
        partner = Partner(partner_id, key)
        loner = await platform.new_partner()
        some = await platform.product(lambda item: True)
        base = Decimal(some["price"])
        answer = await platform.client.put(
            f"/api/v1/admin/distributors/{distributor_id}/price-rule",
            json={"adjustments": [{"percent": "10"}]},
            headers=OPS,
        )
        assert answer.status_code == 200, answer.text

        async def price(who: Partner) -> str:
            one = await platform.client.get(
                f"/api/v1/catalog/products/{some['sku']}", headers=who.headers
            )
            return str(one.json()["price"])

        assert await price(partner) == f"{(base * Decimal('1.1')).quantize(Decimal('0.01')):.2f}"
        assert await price(loner) == f"{base:.2f}"
        removed = await platform.client.delete(
            f"/api/v1/admin/distributors/{distributor_id}/price-rule", headers=OPS
        )
        assert removed.status_code == 200, removed.text
        assert removed.json()["removed"] is True
        assert await price(partner) == f"{base:.2f}"


_INNS = iter(["7704340310", "7701107259", "7707049388", "7703270067", "7706107510"])


async def approved(platform: Platform, distributor: str | None = None) -> tuple[str, str, str]:
    """A new partner (under ``distributor``'s reseller id): (partner_id, reseller_id, key)."""
    body: dict[str, Any] = {
        "company_name": "ООО Дистрибуция",
        "inn": next(_INNS),
        "email": "d@example.ru",
        "region": "Новосибирск",
    }
    if distributor:
        body["distributor_reseller_id"] = distributor
    applied = await platform.client.post("/api/v1/applications", json=body)
    assert applied.status_code == 201, applied.text
    answer = await platform.client.post(
        f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    return data["partner_id"], data["reseller_id"], data["api_key"]


class TestFeedsOfTheDemoCatalog:
    async def test_every_format_carries_the_whole_active_catalog(self, platform: Platform) -> None:
        partner = await platform.new_partner()
        engine = platform.services["catalog"].engine
        async with engine.connect() as conn:
            active = {
                row.sku
                for row in await conn.execute(text("SELECT sku FROM catalog.products WHERE active"))
            }
        assert len(active) > 3000

        async def replicated() -> bool:
            answer = await platform.client.get(
                "/api/v1/catalog/export?format=json", headers=partner.headers
            )
            return {i["sku"] for i in answer.json()["items"]} == active

        await eventually(replicated, timeout=60)
        for fmt in ("xml", "csv", "commerceml", "yml"):
            answer = await platform.client.get(
                f"/api/v1/catalog/export?format={fmt}", headers=partner.headers
            )
            assert answer.status_code == 200
            if fmt == "csv":
                rows = csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";")
                skus = {r["sku"] for r in rows}
            elif fmt == "xml":
                skus = {p.findtext("sku") for p in ET.fromstring(answer.content).iter("product")}
            elif fmt == "yml":
                skus = {o.get("id") for o in ET.fromstring(answer.content).iter("offer")}
            else:
                ns = "{urn:1C.ru:commerceml_2}"
                root = ET.fromstring(answer.content)
                skus = {o.findtext(f"{ns}Ид") for o in root.iter(f"{ns}Предложение")}
                goods = {g.findtext(f"{ns}Ид") for g in root.iter(f"{ns}Товар")}
                assert goods == skus
            assert skus == active, fmt
            cached = await platform.client.get(
                f"/api/v1/catalog/export?format={fmt}",
                headers={**partner.headers, "If-None-Match": answer.headers["etag"]},
            )
            assert cached.status_code == 304

"""XML on the wire: the same fields, validation and error codes as JSON (gateway.http.xml)."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import msgspec
import pytest
from defusedxml.ElementTree import fromstring
from gateway.http.errors import ApiError
from gateway.http.xml import to_xml, wants_xml, xml_to_json
from gateway.runtime import Gateway

from services.gateway.tests.integration.helpers import (
    OPS,
    PIN_FIELD,
    bearer,
    onboard,
    product,
    scalar,
    seed_products,
)

pytestmark = pytest.mark.integration

XML_BODY = {"Content-Type": "application/xml"}
ACCEPT_XML = {"Accept": "application/xml"}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<order><external_id>&lol9;</external_id><sku>KL-KIS-1Y</sku><quantity>1</quantity></order>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE order [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<order><external_id>&secret;</external_id><sku>KL-KIS-1Y</sku><quantity>1</quantity></order>"""


def order_xml(external_id: str, sku: str = "KL-KIS-1Y", quantity: str = "2", **extra: str) -> bytes:
    parts = [f"<{k}>{v}</{k}>" for k, v in extra.items()]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<order>'
        f"<external_id>{external_id}</external_id><sku>{sku}</sku>"
        f"<quantity>{quantity}</quantity>{''.join(parts)}</order>"
    ).encode()


def xml_of(response: httpx.Response) -> ET.Element:
    root: ET.Element = fromstring(response.content)
    return root


def text(root: ET.Element, path: str) -> str | None:
    found = root.find(path)
    return None if found is None else found.text


def assert_problem_xml(response: httpx.Response, status: int, code: str) -> ET.Element:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+xml")
    root = xml_of(response)
    ns = "{urn:ietf:rfc:7807}"
    assert root.tag == f"{ns}problem"
    assert root.findtext(f"{ns}code") == code
    assert root.findtext(f"{ns}status") == str(status)
    assert root.findtext(f"{ns}title")
    assert root.findtext(f"{ns}detail")
    return root


@pytest.fixture(scope="module")
async def world(running: tuple[httpx.AsyncClient, Gateway]) -> tuple[httpx.AsyncClient, Gateway]:
    client, gateway = running
    await seed_products(
        gateway,
        product("KL-KIS-1Y"),
        product("KL-KES-PIN", name="Kaspersky Endpoint Security", required_fields=(PIN_FIELD,)),
    )
    return client, gateway


@pytest.fixture
async def shop(world: tuple[httpx.AsyncClient, Gateway]) -> dict[str, Any]:
    client, gateway = world
    approval = await onboard(client)
    return {
        "client": client,
        "gateway": gateway,
        "headers": bearer(approval["api_key"]),
        "partner_id": uuid.UUID(approval["partner_id"]),
    }


async def orders_of(shop: dict[str, Any]) -> int:
    return int(
        await scalar(
            shop["gateway"],
            "SELECT count(*) FROM orders WHERE partner_id = :p",
            p=shop["partner_id"],
        )
    )


class TestOrderInXml:
    async def test_placed_in_xml_and_read_back_in_xml(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        external_id = uuid.uuid4().hex
        body = order_xml(
            external_id,
            sku="KL-KES-PIN",
            test="true",
            fields="<partner_pin>123456</partner_pin>",
        )
        placed = await client.post("/api/v1/orders", content=body, headers=headers | XML_BODY)
        assert placed.status_code == 202, placed.text
        # an XML body answers in XML without being asked
        assert placed.headers["content-type"].startswith("application/xml")
        root = xml_of(placed)
        assert root.tag == "order"
        order_id = text(root, "id")
        assert order_id
        assert placed.headers["location"] == f"/api/v1/orders/{order_id}"
        assert text(root, "external_id") == external_id
        assert text(root, "sku") == "KL-KES-PIN"
        assert text(root, "quantity") == "2"
        assert text(root, "test") == "true"
        assert text(root, "status") == "pending"
        assert root.find("keys") is not None  # a list, empty for now

        read = await client.get(f"/api/v1/orders/{order_id}", headers=headers | ACCEPT_XML)
        assert read.status_code == 200, read.text
        assert read.headers["content-type"].startswith("application/xml")
        again = xml_of(read)
        assert again.tag == "order"
        assert text(again, "id") == order_id
        assert text(again, "quantity") == "2"
        # the same order in JSON has the same fields, typed
        as_json = (await client.get(f"/api/v1/orders/{order_id}", headers=headers)).json()
        assert as_json["quantity"] == 2
        assert as_json["test"] is True
        assert {child.tag for child in again} == set(as_json)

    async def test_xml_and_json_of_the_same_order_are_the_same_request(
        self, shop: dict[str, Any]
    ) -> None:
        client, headers = shop["client"], shop["headers"]
        external_id = uuid.uuid4().hex
        first = await client.post(
            "/api/v1/orders",
            content=order_xml(external_id, test="true"),
            headers=headers | XML_BODY,
        )
        assert first.status_code == 202, first.text
        replay = await client.post(
            "/api/v1/orders",
            json={"external_id": external_id, "sku": "KL-KIS-1Y", "quantity": 2, "test": True},
            headers=headers,
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["id"] == text(xml_of(first), "id")
        conflict = await client.post(
            "/api/v1/orders",
            content=order_xml(external_id, quantity="3", test="true"),
            headers=headers | XML_BODY,
        )
        assert_problem_xml(conflict, 409, "idempotency_conflict")
        assert await orders_of(shop) == 1

    async def test_list_items_are_repeated_child_elements(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        for _ in range(2):
            placed = await client.post(
                "/api/v1/orders",
                content=order_xml(uuid.uuid4().hex, test="true"),
                headers=headers | XML_BODY,
            )
            assert placed.status_code == 202, placed.text
        listed = await client.get("/api/v1/orders", headers=headers | ACCEPT_XML)
        assert listed.status_code == 200, listed.text
        root = xml_of(listed)
        assert root.tag == "order_list"
        items = root.findall("items/item")
        assert len(items) == 2
        assert all(text(item, "sku") == "KL-KIS-1Y" for item in items)
        # no next page: null is an empty element marked xsi:nil
        cursor = root.find("next_cursor")
        assert cursor is not None
        assert cursor.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"

    async def test_json_accept_wins_over_an_xml_body(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        placed = await client.post(
            "/api/v1/orders",
            content=order_xml(uuid.uuid4().hex, test="true"),
            headers=headers | XML_BODY | {"Accept": "application/json"},
        )
        assert placed.status_code == 202, placed.text
        assert placed.headers["content-type"].startswith("application/json")
        assert placed.json()["quantity"] == 2


class TestBadXml:
    async def test_malformed_xml_is_400_problem_xml_and_changes_nothing(
        self, shop: dict[str, Any]
    ) -> None:
        client, headers = shop["client"], shop["headers"]
        response = await client.post(
            "/api/v1/orders",
            content=b"<order><external_id>x</external_id><sku>KL-KIS-1Y",
            headers=headers | XML_BODY,
        )
        assert_problem_xml(response, 400, "validation_error")
        assert await orders_of(shop) == 0

    @pytest.mark.parametrize(
        ("quantity", "extra", "status", "code"),
        [
            ("abc", {}, 422, "invalid_quantity"),
            ("0", {}, 422, "invalid_quantity"),
            ("1001", {}, 422, "invalid_quantity"),
            ("1.5", {}, 422, "invalid_quantity"),
            ("1", {"test": "maybe"}, 422, "validation_error"),
        ],
    )
    async def test_same_validation_codes_as_json(
        self,
        shop: dict[str, Any],
        quantity: str,
        extra: dict[str, str],
        status: int,
        code: str,
    ) -> None:
        client, headers = shop["client"], shop["headers"]
        response = await client.post(
            "/api/v1/orders",
            content=order_xml(uuid.uuid4().hex, quantity=quantity, **extra),
            headers=headers | XML_BODY,
        )
        assert_problem_xml(response, status, code)
        assert await orders_of(shop) == 0

    async def test_missing_field_is_validation_error(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        response = await client.post(
            "/api/v1/orders",
            content=b"<order><external_id>abc</external_id><quantity>1</quantity></order>",
            headers=headers | XML_BODY,
        )
        root = assert_problem_xml(response, 422, "validation_error")
        assert "sku" in (root.findtext("{urn:ietf:rfc:7807}detail") or "")

    async def test_controller_refusals_keep_their_codes(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        unknown = await client.post(
            "/api/v1/orders",
            content=order_xml(uuid.uuid4().hex, sku="NO-SUCH", test="true"),
            headers=headers | XML_BODY,
        )
        assert_problem_xml(unknown, 422, "unknown_sku")
        pin = await client.post(
            "/api/v1/orders",
            content=order_xml(
                uuid.uuid4().hex,
                sku="KL-KES-PIN",
                test="true",
                fields="<partner_pin>12</partner_pin>",
            ),
            headers=headers | XML_BODY,
        )
        assert_problem_xml(pin, 422, "invalid_field")
        assert await orders_of(shop) == 0

    async def test_billion_laughs_is_refused_at_once(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        started = time.monotonic()
        response = await client.post(
            "/api/v1/orders", content=BILLION_LAUGHS, headers=headers | XML_BODY
        )
        assert time.monotonic() - started < 2.0
        root = assert_problem_xml(response, 400, "validation_error")
        assert "lol" not in response.text.replace("DTD", "")
        assert "DTD" in (root.findtext("{urn:ietf:rfc:7807}detail") or "")
        assert await orders_of(shop) == 0

    async def test_external_entities_are_refused(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        response = await client.post(
            "/api/v1/orders", content=EXTERNAL_ENTITY, headers=headers | XML_BODY
        )
        assert_problem_xml(response, 400, "validation_error")
        assert "root:" not in response.text
        assert await orders_of(shop) == 0

    async def test_an_oversized_xml_body_is_413(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        padding = "<note>" + "x" * 1_100_000 + "</note>"
        response = await client.post(
            "/api/v1/orders",
            content=order_xml(uuid.uuid4().hex, test="true", comment=padding),
            headers=headers | XML_BODY,
        )
        assert_problem_xml(response, 413, "validation_error")
        assert await orders_of(shop) == 0


class TestErrorsInXml:
    async def test_unknown_path_and_missing_key_answer_problem_xml(
        self, world: tuple[httpx.AsyncClient, Gateway]
    ) -> None:
        client, _ = world
        assert_problem_xml(
            await client.get("/api/v1/no-such", headers=ACCEPT_XML), 404, "not_found"
        )
        assert_problem_xml(
            await client.get("/api/v1/orders", headers=ACCEPT_XML), 401, "unauthorized"
        )

    async def test_another_partners_order_is_404_in_xml(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        missing = await client.get(f"/api/v1/orders/{uuid.uuid4()}", headers=headers | ACCEPT_XML)
        assert_problem_xml(missing, 404, "not_found")

    async def test_application_in_xml(self, world: tuple[httpx.AsyncClient, Gateway]) -> None:
        client, _ = world
        body = (
            "<application><company_name>ООО Ромашка</company_name><inn>7707083893</inn>"
            "<email>xml@romashka.example</email><region>Москва</region></application>"
        ).encode()
        created = await client.post("/api/v1/applications", content=body, headers=XML_BODY)
        assert created.status_code == 201, created.text
        root = xml_of(created)
        assert text(root, "status") == "pending"
        bad = body.replace(b"7707083893", b"7707083894")
        refused = await client.post("/api/v1/applications", content=bad, headers=XML_BODY)
        assert_problem_xml(refused, 422, "invalid_inn")


class TestOtherEndpoints:
    async def test_ops_put_in_xml_with_decimal_and_int_fields(
        self, world: tuple[httpx.AsyncClient, Gateway]
    ) -> None:
        client, _ = world
        approval = await onboard(client)
        path = f"/api/v1/admin/partners/{approval['partner_id']}/credit"
        body = b"<credit_terms><limit>60000.00</limit><term_days>20</term_days></credit_terms>"
        updated = await client.put(path, content=body, headers=OPS | XML_BODY)
        assert updated.status_code == 200, updated.text
        root = xml_of(updated)
        assert root.tag == "partner"
        assert text(root, "credit_limit") == "60000.00"
        assert text(root, "term_days") == "20"
        assert text(root, "live") == "false"
        bad = body.replace(b"<term_days>20</term_days>", b"<term_days>400</term_days>")
        refused = await client.put(path, content=bad, headers=OPS | XML_BODY)
        assert_problem_xml(refused, 422, "validation_error")
        negative = body.replace(b"60000.00", b"-1.00")  # the controller's own check
        assert_problem_xml(
            await client.put(path, content=negative, headers=OPS | XML_BODY),
            422,
            "validation_error",
        )


class TestSchema:
    async def test_openapi_lists_xml_next_to_json(
        self, world: tuple[httpx.AsyncClient, Gateway]
    ) -> None:
        client, _ = world
        schema = (await client.get("/schema/openapi.json")).json()
        place = schema["paths"]["/api/v1/orders"]["post"]
        body = place["requestBody"]["content"]
        assert body["application/xml"] == body["application/json"]
        assert "application/xml" in place["responses"]["202"]["content"]
        balance = schema["paths"]["/api/v1/balance"]["get"]
        assert "application/xml" in balance["responses"]["200"]["content"]


class TestJsonUnaffected:
    async def test_json_in_json_out(self, shop: dict[str, Any]) -> None:
        client, headers = shop["client"], shop["headers"]
        placed = await client.post(
            "/api/v1/orders",
            json={"external_id": uuid.uuid4().hex, "sku": "KL-KIS-1Y", "quantity": 1, "test": True},
            headers=headers,
        )
        assert placed.status_code == 202, placed.text
        assert placed.headers["content-type"].startswith("application/json")
        refused = await client.post(
            "/api/v1/orders",
            json={"external_id": uuid.uuid4().hex, "sku": "KL-KIS-1Y", "quantity": "1"},
            headers=headers,
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "invalid_quantity"
        missing = await client.get("/api/v1/no-such")
        assert missing.headers["content-type"].startswith("application/problem+json")


class Line(msgspec.Struct):
    sku: str
    quantity: int


class Basket(msgspec.Struct):
    name: str
    lines: list[Line]
    tags: dict[str, str] | None = None
    note: str | None = None
    rush: bool = False


class TestConversion:
    """The mapping itself, without a server: what partners' XML libraries will produce."""

    def test_wrapped_and_bare_repeated_lists_and_dict_entries(self) -> None:
        wrapped = (
            "<basket><name>007</name><lines><line><sku>A</sku><quantity>2</quantity></line>"
            "<line><sku>B</sku><quantity>3</quantity></line></lines>"
            '<tags><colour>red</colour><entry key="ПИН">1</entry></tags>'
            '<note xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
            "<rush>1</rush><unknown>ignored</unknown></basket>"
        ).encode()
        as_json = msgspec.json.decode(xml_to_json(wrapped, Basket))
        assert as_json == {
            "name": "007",  # a str field stays text, never a number
            "lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 3}],
            "tags": {"colour": "red", "ПИН": "1"},
            "note": None,
            "rush": True,
        }
        bare = (
            b"<basket><name>x</name><lines><sku>A</sku><quantity>1</quantity></lines>"
            b"<lines><sku>B</sku><quantity>1</quantity></lines></basket>"
        )
        assert len(msgspec.json.decode(xml_to_json(bare, Basket))["lines"]) == 2
        single = b"<basket><name>x</name><lines><sku>A</sku><quantity>1</quantity></lines></basket>"
        assert msgspec.json.decode(xml_to_json(single, Basket))["lines"] == [
            {"sku": "A", "quantity": 1}
        ]
        empty = b"<basket><name>x</name><lines/></basket>"
        assert msgspec.json.decode(xml_to_json(empty, Basket))["lines"] == []

    def test_writing_round_trips_through_reading(self) -> None:
        value = {
            "name": "a\x00b",
            "lines": [{"sku": "A", "quantity": 2}],
            "tags": {"1c": "x"},
            "note": None,
            "rush": False,
        }
        document = to_xml(value, "basket")
        root = fromstring(document)  # well-formed despite the NUL
        assert root.findtext("lines/line/sku") == "A"
        assert root.find("tags/entry").get("key") == "1c"
        back = msgspec.json.decode(xml_to_json(document, Basket))
        assert back["lines"] == [{"sku": "A", "quantity": 2}]
        assert back["tags"] == {"1c": "x"}
        assert back["note"] is None
        assert back["rush"] is False

    @pytest.mark.parametrize(
        ("accept", "content_type", "xml"),
        [
            (None, None, False),
            ("*/*", None, False),
            ("application/xml", None, True),
            ("text/xml", None, True),
            ("application/json;q=0.5, application/xml", None, True),
            ("application/xml;q=0.5, application/json", None, False),
            (None, "application/xml; charset=utf-8", True),
            ("application/json", "application/xml", False),
            ("*/*", "application/xml", True),
        ],
    )
    def test_negotiation(self, accept: str | None, content_type: str | None, xml: bool) -> None:
        assert wants_xml(accept, content_type) is xml

    def test_entity_declarations_are_refused_before_expansion(self) -> None:
        with pytest.raises(ApiError) as refused:
            xml_to_json(BILLION_LAUGHS, Basket)
        assert refused.value.status == 400
        assert refused.value.code == "validation_error"

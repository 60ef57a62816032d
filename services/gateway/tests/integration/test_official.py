"""Ops mark an official partner at approval: stored, shown, and carried on PartnerRegistered
(billing makes such a partner's EDO free, see billing's test_edo_free)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aio_pika
import httpx
import pytest
from esd_contracts.partners.events import PartnerRegistered
from gateway.runtime import Gateway

from services.gateway.tests.integration.helpers import OPS, VALID_INN, scalar

pytestmark = pytest.mark.integration


async def _apply(client: Any) -> str:
    response = await client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО Официальный",
            "inn": VALID_INN,
            "email": "official@example.test",
            "region": "Москва",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["application_id"])


class _Registered:
    """PartnerRegistered events as they leave the gateway, read from a queue of our own."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}

    async def on(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        body = json.loads(message.body)
        if "partner_id" in body:
            self.seen[body["partner_id"]] = body

    async def of(self, partner_id: str, timeout: float = 15.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while partner_id not in self.seen:
            assert loop.time() < deadline, "PartnerRegistered not published in time"
            await asyncio.sleep(0.05)
        return self.seen[partner_id]


async def test_official_at_approval_is_stored_shown_and_published(
    running: tuple[httpx.AsyncClient, Gateway],
) -> None:
    client, gateway = running
    connection = await aio_pika.connect_robust(gateway.service.settings.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            PartnerRegistered.exchange_name(), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=PartnerRegistered.message_type())
        registered = _Registered()
        await queue.consume(registered.on, no_ack=True)

        # a body that does not fit: refused, the application stays pending
        pending = await _apply(client)
        bad = await client.post(
            f"/api/v1/admin/applications/{pending}/approve",
            json={"official": [1]},
            headers=OPS,
        )
        assert 400 <= bad.status_code < 500, bad.text
        assert bad.json()["code"] == "validation_error"
        status = await scalar(gateway, "SELECT status FROM applications WHERE id = :i", i=pending)
        assert status == "pending"

        official = await _apply(client)
        response = await client.post(
            f"/api/v1/admin/applications/{official}/approve",
            json={"official": True},
            headers=OPS,
        )
        assert response.status_code == 200, response.text
        assert set(response.json()) == {
            "partner_id",
            "reseller_id",
            "api_key",
            "webhook_secret",
            "key_id",
        }
        official_id = response.json()["partner_id"]

        plain = await _apply(client)  # an empty body still approves, not official
        response = await client.post(f"/api/v1/admin/applications/{plain}/approve", headers=OPS)
        assert response.status_code == 200, response.text
        plain_id = response.json()["partner_id"]

        by_xml = await _apply(client)  # the same body in XML
        response = await client.post(
            f"/api/v1/admin/applications/{by_xml}/approve",
            content=b"<approval><official>true</official></approval>",
            headers={**OPS, "Content-Type": "application/xml", "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        xml_id = response.json()["partner_id"]
        shown = await client.get(f"/api/v1/admin/partners/{xml_id}", headers=OPS)
        assert shown.json()["official"] is True

        shown = await client.get(f"/api/v1/admin/partners/{official_id}", headers=OPS)
        assert shown.json()["official"] is True
        shown = await client.get(f"/api/v1/admin/partners/{plain_id}", headers=OPS)
        assert shown.json()["official"] is False

        assert (await registered.of(official_id))["official"] is True
        assert (await registered.of(plain_id))["official"] is False
    finally:
        await connection.close()

"""Onboarding and authentication through the HTTP API on the real database and broker."""

from __future__ import annotations

import re

import httpx
import pytest
from gateway.runtime import Gateway

from services.gateway.tests.integration.helpers import (
    OPS,
    VALID_INN,
    bearer,
    onboard,
    scalar,
    wait_for,
)

pytestmark = pytest.mark.integration

# what the module's ``running`` fixture (conftest.py) yields
Running = tuple[httpx.AsyncClient, Gateway]


class TestApplications:
    async def test_invalid_inn_is_refused_and_nothing_is_stored(self, running: Running) -> None:
        client, gateway = running
        before = await scalar(gateway, "SELECT count(*) FROM applications")
        response = await client.post(
            "/api/v1/applications",
            json={"company_name": "X", "inn": "7707083894", "email": "a@b.c", "region": "77"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == "invalid_inn"
        assert {"type", "title", "status", "detail", "code"} <= body.keys()
        assert await scalar(gateway, "SELECT count(*) FROM applications") == before

    async def test_approval_creates_partner_key_and_registers_it_on_the_bus(
        self, running: Running
    ) -> None:
        client, gateway = running
        approval = await onboard(client)
        assert re.fullmatch(r"R-\d{6}", approval["reseller_id"])
        assert approval["api_key"]
        assert approval["webhook_secret"]
        # the key is stored hashed only, the secret encrypted
        stored_hash = await scalar(
            gateway, "SELECT key_hash FROM api_keys WHERE partner_id = :p", p=approval["partner_id"]
        )
        assert stored_hash != approval["api_key"]
        secret = await scalar(
            gateway,
            "SELECT webhook_secret FROM partners WHERE partner_id = :p",
            p=approval["partner_id"],
        )
        assert secret != approval["webhook_secret"]
        assert gateway.secret_box.open(secret) == approval["webhook_secret"]
        # PartnerRegistered left through the outbox
        await wait_for(lambda: _zero(gateway))
        pending = await client.get("/api/v1/admin/applications?status=pending", headers=OPS)
        assert approval["partner_id"] not in {a["partner_id"] for a in pending.json()["items"]}
        approved = await client.get("/api/v1/admin/applications?status=approved", headers=OPS)
        assert approval["partner_id"] in {a["partner_id"] for a in approved.json()["items"]}

    async def test_second_decision_is_a_conflict(self, running: Running) -> None:
        client, _ = running
        response = await client.post(
            "/api/v1/applications",
            json={"company_name": "X", "inn": VALID_INN, "email": "a@b.c", "region": "77"},
        )
        app_id = response.json()["application_id"]
        rejected = await client.post(
            f"/api/v1/admin/applications/{app_id}/reject", json={"reason": "no"}, headers=OPS
        )
        assert rejected.status_code == 200
        assert rejected.json()["status"] == "rejected"
        again = await client.post(f"/api/v1/admin/applications/{app_id}/approve", headers=OPS)
        assert again.status_code == 409

    async def test_ops_sets_terms_goes_live_and_rotates_keys(self, running: Running) -> None:
        client, _ = running
        approval = await onboard(client)
        pid = approval["partner_id"]
        terms = await client.put(
            f"/api/v1/admin/partners/{pid}/credit",
            json={"limit": "120000.00", "term_days": 30},
            headers=OPS,
        )
        assert terms.status_code == 200, terms.text
        assert terms.json()["credit_limit"] == "120000.00"
        signed = await client.post(
            f"/api/v1/admin/partners/{pid}/contract-signed",
            json={"number": "D-7", "date": "2026-01-15"},
            headers=OPS,
        )
        assert signed.status_code == 200, signed.text
        live = await client.post(f"/api/v1/admin/partners/{pid}/go-live", headers=OPS)
        assert live.json()["live"] is True
        issued = await client.post(f"/api/v1/admin/partners/{pid}/api-keys", headers=OPS)
        assert issued.status_code == 201
        new_key = issued.json()["api_key"]
        assert (await client.get("/api/v1/orders", headers=bearer(new_key))).status_code == 200
        revoked = await client.delete(
            f"/api/v1/admin/partners/{pid}/api-keys/{issued.json()['key_id']}", headers=OPS
        )
        assert revoked.status_code == 204
        after = await client.get("/api/v1/orders", headers=bearer(new_key))
        assert after.status_code == 401
        assert after.json()["code"] == "unauthorized"
        # the first key still works
        assert (
            await client.get("/api/v1/orders", headers=bearer(approval["api_key"]))
        ).status_code == 200


class TestAuth:
    async def test_missing_or_wrong_key_is_401(self, running: Running) -> None:
        client, _ = running
        for headers in ({}, bearer("esd_nope"), {"Authorization": "Basic abc"}):
            response = await client.get("/api/v1/orders", headers=headers)
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"

    async def test_partner_key_on_admin_is_403_and_no_token_401(self, running: Running) -> None:
        client, _ = running
        approval = await onboard(client)
        forbidden = await client.get(
            "/api/v1/admin/applications", headers=bearer(approval["api_key"])
        )
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "forbidden"
        assert (await client.get("/api/v1/admin/applications")).status_code == 401

    async def test_health_and_schema_need_no_auth(self, running: Running) -> None:
        client, _ = running
        assert (await client.get("/health")).status_code == 200
        schema = await client.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/api/v1/orders" in schema.json()["paths"]
        # only the gateway runs here: the services it needs have no consumers
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert "orders.PlaceOrder" in ready.json()["checks"]["services"]["without_consumer"]


async def _zero(gateway: Gateway) -> bool:
    return bool(await scalar(gateway, "SELECT count(*) FROM outbox") == 0)

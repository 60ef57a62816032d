"""The gateway's /metrics: Litestar's HTTP series by route template, and its broker's series."""

from __future__ import annotations

import pytest
from esd_platform.testing import isolated_settings
from gateway.bootstrap import create_app
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client

from tests.deploy.test_metrics import value

pytestmark = pytest.mark.integration


async def test_gateway_metrics_count_requests_by_route_and_status() -> None:
    async with isolated_settings() as settings:
        app = create_app(settings, GatewaySettings(ops_token="metrics-test-token"))
        async with in_loop_client(app) as client:
            unauthorized = {
                "app_name": "gateway",
                "method": "GET",
                "path": "/api/v1/balance",
                "status_code": "401",
            }
            # the registry is the process's: other tests in this process may have counted too
            before = value(
                (await client.get("/metrics")).text, "esd_http_requests_total", **unauthorized
            )
            assert (await client.get("/api/v1/balance")).status_code == 401
            assert (await client.get("/health")).status_code == 200
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            body = response.text
            assert value(body, "esd_http_requests_total", **unauthorized) == (before or 0) + 1
            # probes and the scrape itself are not counted
            assert value(body, "esd_http_requests_total", path="/health") is None
            assert value(body, "esd_http_request_duration_seconds_count", path="/api/v1/balance")
            # the gateway's broker is instrumented like every service's
            assert "faststream_received_messages_total" in body
            # operations endpoint: not part of the partner API's schema
            schema = (await client.get("/schema/openapi.json")).json()
            assert "/metrics" not in schema["paths"]

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from esd_platform.testing import isolated_settings
from gateway.bootstrap import create_app
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client

OPS_TOKEN = "ops-portal-token"


@pytest.fixture(scope="module")
async def running() -> AsyncIterator[tuple[httpx.AsyncClient, Gateway]]:
    """The gateway alone on a fresh database and vhost (no backend services: pages that need
    one answer from what the gateway holds, or say the service is unavailable)."""
    async with isolated_settings() as settings:
        app = create_app(settings, GatewaySettings(ops_token=OPS_TOKEN, query_timeout=0.5))
        async with in_loop_client(app) as client:
            yield client, app.state.gateway

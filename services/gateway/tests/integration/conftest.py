from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from esd_platform.testing import isolated_settings
from gateway.bootstrap import create_app
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client

from services.gateway.tests.integration.helpers import OPS_TOKEN


@pytest.fixture(scope="module")
async def running() -> AsyncIterator[tuple[httpx.AsyncClient, Gateway]]:
    """A gateway on a fresh database and vhost per test module, served in this event loop.

    Tests of one module share it and keep apart by making their own partners.
    """
    async with isolated_settings() as settings:
        app = create_app(settings, GatewaySettings(ops_token=OPS_TOKEN, query_timeout=2.0))
        async with in_loop_client(app) as client:
            yield client, app.state.gateway

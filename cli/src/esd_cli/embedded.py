"""The embedded run: every service and the gateway in one process, on FastStream's in-memory
broker, for a machine with no RabbitMQ (``esd run`` chooses it and says so).

The services are the same objects as in a real deployment; only the transport differs. Each one
is attached to one shared broker wrapped in ``TestRabbitBroker``, which delivers a publish to
every subscriber whose exchange and routing key match, in the publisher's task. The outbox keeps
its promise here too: a handler that fails makes the publish fail, the row stays, and the relay
sends it again after its grace period (the consumer's inbox drops what already took effect).
Queries go through ``broker.request``; the gateway is served by uvicorn in the same event loop.
An in-memory broker keeps nothing for a consumer that is not there yet, so every schema is
migrated before any service starts publishing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from esd_platform.messaging import make_broker
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from faststream.rabbit import TestRabbitBroker
from gateway.adapters.queries import BrokerQueryClient
from gateway.adapters.readiness import InProcessProbe
from gateway.bootstrap import create_app
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings

from esd_cli.services import BACKEND, builder, migrate_all


def build(
    settings: PlatformSettings, gateway_settings: GatewaySettings | None = None
) -> tuple[list[Service], uvicorn.Server, Gateway, TestRabbitBroker]:
    """Every service and the gateway app, attached to one in-memory broker (not started)."""
    shared = make_broker(settings, "embedded")
    services = [builder(name)(settings) for name in BACKEND]
    http = gateway_settings or GatewaySettings()
    app = create_app(settings, http)
    gateway: Gateway = app.state.gateway
    for service in (*services, gateway.service):
        service.attach(shared)
    gateway.queries = BrokerQueryClient(shared, http.query_timeout)
    gateway.probe = InProcessProbe()
    gateway.broker_running = True
    config = uvicorn.Config(
        app,
        host="127.0.0.1",  # the embedded run is for this machine
        port=http.gateway_port,
        log_config=None,
        lifespan="on",
        access_log=False,
    )
    return services, uvicorn.Server(config), gateway, TestRabbitBroker(shared)


async def serve(
    settings: PlatformSettings,
    gateway_settings: GatewaySettings | None = None,
    when_ready: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (uvicorn's handlers end ``server.serve()``), then stop all."""
    services, server, _, memory = build(settings, gateway_settings)
    await migrate_all(settings)
    async with memory:
        started: list[Service] = []
        try:
            for service in services:
                await service.start(broker_running=True)
                started.append(service)
            # when_ready polls the gateway's /ready itself, so it may start before the server
            follow_up = asyncio.create_task(when_ready()) if when_ready is not None else None
            await server.serve()
            if follow_up is not None:
                follow_up.cancel()
        finally:
            for service in reversed(started):
                await service.stop()

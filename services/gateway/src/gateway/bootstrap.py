"""Composition root of the gateway: the platform Service (consumers, outbox) and the HTTP app.

The gateway is both: a Service like the others (it consumes product and order events and
publishes commands through its outbox) and the one Litestar app. The app's lifespan starts and
stops the Service, so ``create_app(settings)`` also works next to other services in one loop.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from esd_platform.delivery import DeliverySeal
from esd_platform.observability import litestar_metrics
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.tracing import litestar_tracing
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from sqlalchemy import Row

from gateway import portal
from gateway.adapters.queries import QueryClient
from gateway.adapters.read_caches import FinalOrders
from gateway.adapters.readiness import DependencyProbe
from gateway.adapters.secret_box import SecretBox
from gateway.adapters.waiters import OrderWaiters
from gateway.controllers import (
    admin,
    applications,
    audit,
    balance,
    catalog,
    clock,
    documents,
    downloads,
    finance,
    health,
    keys_admin,
    orders,
    receivables,
    subscriptions,
    webhooks,
)
from gateway.entrypoints.consumers import build_router
from gateway.http.deps import AuthenticatedPartner, provide_gateway, provide_partner
from gateway.http.errors import EXCEPTION_HANDLERS
from gateway.http.hardening import HardeningPlugin
from gateway.http.hot_reads import HotReads
from gateway.http.xml import XmlPlugin
from gateway.runtime import Gateway
from gateway.service_layer.ordering import remember_final
from gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_service(
    settings: PlatformSettings | None = None, on_final: Callable[[Row[Any]], None] | None = None
) -> Service:
    """The gateway as a platform Service: its schema, consumers and outbox."""
    service = Service("gateway", migrations=MIGRATIONS, settings=settings)
    service.include(build_router(service.uow, on_final))
    return service


def build_gateway(
    settings: PlatformSettings | None = None, gateway_settings: GatewaySettings | None = None
) -> Gateway:
    http_settings = gateway_settings or GatewaySettings()
    final_orders = FinalOrders()
    delivery = DeliverySeal(http_settings.key_delivery_secret)
    # an outcome this process consumes is kept at once: its waiters read it from memory
    service = build_service(settings, functools.partial(remember_final, final_orders, delivery))
    return Gateway(
        final_orders=final_orders,
        service=service,
        settings=http_settings,
        waiters=OrderWaiters(service.settings),
        queries=QueryClient(service.settings.amqp_url, http_settings.query_timeout),
        probe=DependencyProbe(service.settings.amqp_url),
        secret_box=SecretBox(http_settings.secret_key),
        delivery=delivery,
    )


def create_app(
    settings: PlatformSettings | None = None, gateway_settings: GatewaySettings | None = None
) -> Litestar:
    """The Litestar app; its lifespan runs the gateway Service."""
    gateway = build_gateway(settings, gateway_settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    # every controller module exports ROUTES: one line per area, so areas grow independently
    handlers: list[type] = [
        *health.ROUTES,
        *applications.ROUTES,
        *admin.ROUTES,
        *catalog.ROUTES,
        *orders.ROUTES,
        *downloads.ROUTES,
        *balance.ROUTES,
        *documents.ROUTES,
        *receivables.ROUTES,
        *keys_admin.ROUTES,
        *finance.ROUTES,
        *webhooks.ROUTES,
        *subscriptions.ROUTES,
        *audit.ROUTES,
        *portal.ROUTES,
    ]
    if gateway.service.settings.is_test:
        handlers.extend(clock.ROUTES)
    metrics_middleware, metrics_controller = litestar_metrics()  # Prometheus: GET /metrics
    handlers.append(metrics_controller)
    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "gateway": Provide(provide_gateway, sync_to_thread=False),
            "partner": Provide(provide_partner),
        },
        signature_namespace={"Gateway": Gateway, "AuthenticatedPartner": AuthenticatedPartner},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[*litestar_tracing(), metrics_middleware],  # OTel spans when configured
        plugins=[HardeningPlugin(gateway.settings), XmlPlugin()],  # limits, headers; XML
        lifespan=[lifespan],
        template_config=portal.template_config(),
        openapi_config=OpenAPIConfig(title="esd partner API", version="1.0.0", path="/schema"),
        debug=False,
        # logs are the platform's structlog JSON (configured by the process entry point);
        # Litestar's own logging config would replace those handlers with plain text
        logging_config=None,
    )
    app.state.gateway = gateway
    # in front of the handlers (inside Litestar's call, so the before_send hooks still apply)
    app.asgi_handler = HotReads(app, app.asgi_handler)
    return app

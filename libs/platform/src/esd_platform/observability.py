"""Prometheus metrics of a service: FastStream's broker metrics, and esd's own gauges.

Every :class:`~esd_platform.service.Service` calls :func:`instrument` once. That adds
FastStream's ``RabbitPrometheusMiddleware`` to its broker (``faststream_received_messages_total``,
``faststream_received_processed_messages_duration_seconds``, ``faststream_published_messages_total``
… labelled ``app_name=<service>``, ``handler=<exchange>.<routing key>``) and, when
``ESD_METRICS_PORT`` is not 0, serves on that port:

- ``/metrics``: the process's Prometheus registry (text format),
- ``/health``: 200 while the process runs (a liveness probe),
- ``/ready``: 200 when the broker and the database answer, else 503 (a readiness probe).

While the port is served, a sampler refreshes every ``ESD_METRICS_INTERVAL`` seconds:

- ``esd_outbox_backlog{service}``: rows in the service's outbox not yet published,
- ``esd_outbox_oldest_seconds{service}``: age of the oldest of them,
- ``esd_queue_messages{queue}``: ready messages in each queue the service consumes (queue lag)
  and in its dead-letter queue (``<queue>.dlq``),
- ``esd_queue_consumers{queue}``: consumers attached to each of those queues.

``esd_saga_duration_seconds{outcome}`` is a histogram the orders service observes when a saga
reaches a final state (:func:`observe_saga`). Services can add their own samplers
(:func:`add_sampler`), e.g. key stock levels and vendor circuit state
(``esd_key_stock{sku}``, ``esd_vendor_circuit_state{vendor}``).

The gateway's HTTP metrics come from Litestar's Prometheus plugin (:func:`litestar_metrics`);
its ``/metrics`` serves the same registry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from esd_contracts.topology import ROUTES
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text

from esd_platform.logging import get_logger
from esd_platform.tracing import configure_tracing, instrument_broker

if TYPE_CHECKING:
    from esd_platform.service import Service

log = get_logger("esd.observability")

Sampler = Callable[["Service"], Awaitable[None]]


class MetricsSettings(BaseSettings):
    """``ESD_METRICS_*``: where a service serves its metrics and probes."""

    model_config = SettingsConfigDict(env_prefix="ESD_", extra="ignore")

    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Port of /metrics, /health, /ready; 0 = off"
    )
    metrics_host: str = Field(default="0.0.0.0", description="Address the metrics port binds")  # noqa: S104
    metrics_interval: float = Field(
        default=5.0, gt=0, description="Seconds between samples of the outbox and queue gauges"
    )


SAGA_DURATION = Histogram(
    "esd_saga_duration_seconds",
    "Time from an order's acceptance to its final state, by outcome",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
OUTBOX_BACKLOG = Gauge(
    "esd_outbox_backlog", "Messages in the service's outbox not yet published", ["service"]
)
OUTBOX_OLDEST = Gauge(
    "esd_outbox_oldest_seconds", "Age of the oldest unpublished outbox message", ["service"]
)
QUEUE_MESSAGES = Gauge(
    "esd_queue_messages", "Messages ready in a queue (lag); <queue>.dlq: dead letters", ["queue"]
)
QUEUE_CONSUMERS = Gauge("esd_queue_consumers", "Consumers attached to a queue", ["queue"])
KEY_STOCK = Gauge("esd_key_stock", "Unissued keys in a product's pool", ["sku"])
VENDOR_CIRCUIT = Gauge(
    "esd_vendor_circuit_state", "Vendor API circuit: 0 closed, 1 half-open, 2 open", ["vendor"]
)
SAMPLE_ERRORS = Gauge(
    "esd_metrics_sample_failing", "1 while the last sample of a gauge failed", ["service", "what"]
)

CIRCUIT_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}

_samplers: dict[str, list[Sampler]] = {}


def observe_saga(outcome: str, seconds: float) -> None:
    """A saga reached a final state (completed, rejected, failed, cancelled) after ``seconds``."""
    SAGA_DURATION.labels(outcome=outcome).observe(max(seconds, 0.0))


def add_sampler(service: Service, sampler: Sampler) -> None:
    """Run ``sampler(service)`` with the others at every interval (e.g. stock gauges)."""
    samplers = _samplers.setdefault(service.name, [])
    if sampler not in samplers:
        samplers.append(sampler)


def consumed_queues(service_name: str) -> list[str]:
    """The queues ``service_name`` consumes and their dead-letter queues, from the topology."""
    queues: list[str] = []
    for r in ROUTES:
        if r.consumer == service_name:
            queues.extend((r.queue, r.dead_letter_queue))
    return queues


async def sample_keys(service: Service) -> None:
    """Key stock per pool and each vendor's circuit, asked of the keys service over the bus
    (any keys worker answers; the vendor circuit is the worst state any worker reports)."""
    from esd_contracts.keys.queries import GetKeyStock, GetVendorHealth, KeyStock, VendorHealth

    stock = await _ask(service, GetKeyStock(**_meta()), KeyStock)
    for item in stock.items:
        KEY_STOCK.labels(sku=item.sku).set(item.available)
    health = await _ask(service, GetVendorHealth(**_meta()), VendorHealth)
    for vendor in health.vendors:
        VENDOR_CIRCUIT.labels(vendor=vendor.vendor or "default").set(
            CIRCUIT_STATES.get(vendor.circuit, 2)
        )


def _meta() -> dict[str, Any]:
    import uuid
    from datetime import UTC, datetime

    return {"correlation_id": uuid.uuid4(), "occurred_at": datetime.now(UTC)}


async def _ask(service: Service, query: Any, answer: type[Any]) -> Any:
    from esd_platform.messaging import topic_exchange

    reply = await service.broker.request(
        query.model_dump_json().encode(),
        exchange=topic_exchange(query.exchange_name()),
        routing_key=query.message_type(),
        timeout=3,
        content_type="application/json",
        **query.envelope(),
    )
    return answer.model_validate_json(reply.body)


def instrument(service: Service) -> None:
    """Broker metrics always (cheap); tracing when configured (:mod:`esd_platform.tracing`);
    the metrics port and samplers when ESD_METRICS_PORT ≠ 0."""
    service.broker.add_middleware(
        RabbitPrometheusMiddleware(registry=REGISTRY, app_name=service.name)
    )
    configure_tracing(service.name)  # OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
    instrument_broker(service.broker)  # spans and traceparent headers, only when tracing is on
    settings = MetricsSettings()
    if settings.metrics_port == 0:
        return
    if service.name == "keys":
        add_sampler(service, sample_keys)
    exporter = MetricsExporter(service, settings)
    service.on_start(exporter.start)
    service.on_stop(exporter.stop)


class MetricsExporter:
    """The metrics/probe HTTP port of one service and its periodic sampler."""

    def __init__(self, service: Service, settings: MetricsSettings) -> None:
        self.service = service
        self.settings = settings
        self._server: asyncio.Server | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._amqp: Any = None
        self._stopping = asyncio.Event()
        self.port = settings.metrics_port

    async def start(self, _: Service) -> None:
        self._sampler = asyncio.create_task(self._sample_forever(), name="metrics-sampler")
        try:
            self._server = await asyncio.start_server(
                self._handle, self.settings.metrics_host, self.settings.metrics_port
            )
        except OSError as error:
            # several services in one process (the embedded run) or granian workers: the first
            # serves the process's registry (theirs too); a service never fails over its metrics
            log.warning("metrics_port_unavailable", port=self.port, error=repr(error))
            return
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics_serving", port=self.port)

    async def stop(self, _: Service) -> None:
        self._stopping.set()
        if self._sampler is not None:
            # the flag ends the loop at its next turn; cancel() alone can be swallowed by a
            # wait_for whose inner step finished at the same moment (Python 3.11)
            self._sampler.cancel()
            await asyncio.wait({self._sampler}, timeout=10)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._amqp is not None:
            with contextlib.suppress(Exception):
                await self._amqp.close()

    # -- sampling ---------------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        while not self._stopping.is_set():
            await self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.metrics_interval)

    async def sample(self) -> None:
        """Refresh the gauges once; a failing source is flagged, never fatal."""
        name = self.service.name
        for what, step in (("outbox", self._sample_outbox), ("queues", self._sample_queues)):
            try:
                await asyncio.wait_for(step(), timeout=max(self.settings.metrics_interval, 2.0))
            except Exception as error:
                SAMPLE_ERRORS.labels(service=name, what=what).set(1)
                log.warning("metrics_sample_failed", what=what, error=repr(error))
            else:
                SAMPLE_ERRORS.labels(service=name, what=what).set(0)
        for sampler in _samplers.get(name, []):
            try:
                await sampler(self.service)
            except Exception as error:
                log.warning("metrics_sampler_failed", error=repr(error))

    async def _sample_outbox(self) -> None:
        schema = self.service.schema
        async with self.service.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS n, "
                        "coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
                        f'FROM "{schema}".outbox'
                    )
                )
            ).one()
        OUTBOX_BACKLOG.labels(service=self.service.name).set(row.n)
        OUTBOX_OLDEST.labels(service=self.service.name).set(float(row.age))

    async def _sample_queues(self) -> None:
        """Passive declares on a connection of our own (FastStream caches its declarations)."""
        import aio_pika

        if self._amqp is None or self._amqp.is_closed:
            self._amqp = await aio_pika.connect_robust(self.service.settings.amqp_url)
        channel = await self._amqp.channel()
        try:
            for queue in consumed_queues(self.service.name):
                try:
                    declared = await channel.declare_queue(queue, passive=True)
                except aio_pika.exceptions.ChannelClosed:
                    channel = await self._amqp.channel()  # not declared yet: skip it
                    continue
                result = declared.declaration_result
                QUEUE_MESSAGES.labels(queue=queue).set(result.message_count or 0)
                QUEUE_CONSUMERS.labels(queue=queue).set(result.consumer_count or 0)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
            status, content_type, body = await self._respond(path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, path: str) -> tuple[str, str, bytes]:
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
        if path == "/health":
            return "200 OK", "text/plain", b"ok\n"
        if path == "/ready":
            if await self.service.ready():
                return "200 OK", "text/plain", b"ready\n"
            return "503 Service Unavailable", "text/plain", b"not ready\n"
        return "404 Not Found", "text/plain", b"not found\n"


def litestar_metrics(app_name: str = "gateway") -> tuple[Any, type]:
    """Litestar's Prometheus middleware and its ``/metrics`` controller, for the gateway app:
    ``litestar_http_requests_total{method,path,status_code}`` and request durations, grouped by
    route template so partner ids do not explode the series."""
    from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

    config = PrometheusConfig(
        app_name=app_name,
        prefix="esd_http",
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=["/metrics", "/health", "/ready"],
    )

    class MetricsController(PrometheusController):
        include_in_schema = False  # operations, not the partner API: kept out of /schema

    return config.middleware, MetricsController

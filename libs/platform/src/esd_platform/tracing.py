"""OpenTelemetry tracing: one order is one trace, across the broker and through the outbox.

Configured by the standard ``OTEL_*`` variables. With ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, each process installs an SDK tracer provider that
exports spans over OTLP/HTTP in batches (``OTEL_SERVICE_NAME`` names it, else the service);
without one, nothing is installed and no tracing middleware is added: zero cost. A process that
installed a tracer provider itself (a test with an in-memory exporter) is traced the same way.

What is traced, when tracing is on:

- every broker: FastStream's ``RabbitTelemetryMiddleware`` (a consumer span per message, a
  producer span per publish, W3C ``traceparent`` in the message headers);
- the gateway: Litestar's OpenTelemetry middleware (a server span per request, continuing a
  caller's ``traceparent``), from :func:`litestar_tracing`;
- the transactional outbox: each row keeps the ``traceparent`` current when it was staged
  (:func:`current_traceparent`), and is published inside that context (:func:`continued`),
  so the consumer's span continues the trace even when the relay sends the row later, from
  another task or another process after a crash.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from esd_platform.logging import get_logger

log = get_logger("esd.tracing")

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False


def _exporter_wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service_name: str) -> bool:
    """Install the OTLP tracer provider once per process when the environment asks for it;
    returns whether tracing is on (also when something else installed an SDK provider)."""
    global _configured
    if tracing_enabled():
        return True
    if _configured or not _exporter_wanted():
        return False
    _configured = True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"esd-{service_name}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing_configured", exporter="otlp", service_name=name)
    return True


def tracing_enabled() -> bool:
    """An SDK tracer provider is installed (by :func:`configure_tracing` or by a test)."""
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(trace.get_tracer_provider(), TracerProvider)


def instrument_broker(broker: Any) -> None:
    """FastStream's telemetry middleware on ``broker`` when tracing is on (spans per consume
    and publish, ``traceparent`` in the headers)."""
    if not tracing_enabled():
        return
    from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware

    broker.add_middleware(RabbitTelemetryMiddleware())


def litestar_tracing() -> list[Any]:
    """Litestar's OpenTelemetry middleware for the gateway app, or nothing when tracing is off."""
    if not tracing_enabled():
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig

    return [
        OpenTelemetryConfig(
            exclude=["/metrics", "/health", "/ready"], exclude_spans=["receive", "send"]
        ).middleware
    ]


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def continued(traceparent: str | None) -> Iterator[None]:
    """Run the block as part of the trace ``traceparent`` names (nothing changes without one)."""
    if not traceparent:
        yield
        return
    token = context.attach(_PROPAGATOR.extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        context.detach(token)

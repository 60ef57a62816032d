"""Tracing through the transactional outbox: a message keeps the trace of the transaction that
staged it, by the fast path and by the relay (another task, later), and tracing that is not
configured adds nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import esd_platform.outbox as outbox_module
import pytest
from esd_contracts.credit.commands import ReserveCredit
from esd_platform.messaging import consumes
from esd_platform.service import Service
from esd_platform.testing import isolated_settings, traced, wait_for
from esd_platform.tracing import current_traceparent, tracing_enabled
from faststream.rabbit import RabbitRouter
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry import trace
from sqlalchemy import text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "migrations_fixture"


def command() -> ReserveCredit:
    oid = uuid.uuid4()
    return ReserveCredit(
        correlation_id=oid,
        order_id=oid,
        partner_id=uuid.uuid4(),
        amount=Decimal("1.00"),
        occurred_at=datetime.now(UTC),
    )


@pytest.fixture
async def traced_service() -> AsyncIterator[tuple[Service, dict[uuid.UUID, int], Any]]:
    """A service built with tracing on; records the trace id its handler runs in, per order."""
    with traced() as exporter:
        async with isolated_settings() as settings:
            service = Service("credit", migrations=MIGRATIONS, settings=settings)
            router = RabbitRouter()
            seen: dict[uuid.UUID, int] = {}

            @consumes(router, "credit", ReserveCredit)
            async def on_reserve(cmd: ReserveCredit) -> None:
                seen[cmd.order_id] = trace.get_current_span().get_span_context().trace_id

            service.include(router)
            await service.start()
            try:
                yield service, seen, exporter
            finally:
                await service.stop()


async def test_the_fast_path_continues_the_staging_trace(traced_service: Any) -> None:
    service, seen, _ = traced_service
    cmd = command()
    with trace.get_tracer("test").start_as_current_span("request") as span:
        async with service.uow.transaction() as tx:
            tx.publish(cmd)
        trace_id = span.get_span_context().trace_id
    await wait_for(lambda: _true(cmd.order_id in seen), what="the message handled")
    assert seen[cmd.order_id] == trace_id


async def test_a_relayed_row_continues_the_trace_it_was_staged_in(
    traced_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died between commit and publish: the relay sends the row later, from its
    own task with no trace of its own, and the consumer still joins the staging trace."""
    service, seen, exporter = traced_service
    monkeypatch.setattr(outbox_module, "GRACE", 0.3)
    cmd = command()
    with trace.get_tracer("test").start_as_current_span("request") as span:
        async with service.engine.begin() as conn:  # committed; the fast path never told
            await service.outbox.stage(conn, [cmd])
        trace_id = span.get_span_context().trace_id
        staged = current_traceparent()
    async with service.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT traceparent FROM outbox WHERE id = :id"), {"id": cmd.message_id}
            )
        ).scalar_one_or_none()
    assert stored == staged
    assert stored is not None
    assert f"{trace_id:032x}" in stored
    await wait_for(lambda: _true(cmd.order_id in seen), what="the relayed message handled")
    assert seen[cmd.order_id] == trace_id
    consumed = [
        s
        for s in exporter.get_finished_spans()
        if s.kind == trace.SpanKind.CONSUMER and s.context.trace_id == trace_id
    ]
    assert consumed, "no consumer span in the staging trace"


async def test_untraced_services_get_no_telemetry_middleware() -> None:
    """No OTEL_EXPORTER_OTLP_ENDPOINT and no SDK provider: tracing costs nothing."""
    assert not tracing_enabled()
    async with isolated_settings() as settings:
        service = Service("credit", migrations=MIGRATIONS, settings=settings)
        middlewares = service.broker.middlewares
        assert not any(isinstance(m, RabbitTelemetryMiddleware) for m in middlewares)
        await service.engine.dispose()


async def _true(value: bool) -> bool:
    await asyncio.sleep(0)
    return value

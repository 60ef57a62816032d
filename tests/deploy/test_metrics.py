"""A service's metrics port: FastStream's counters after a message, esd's gauges, the probes."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from credit.bootstrap import build_service
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.observability import SAGA_DURATION, consumed_queues, observe_saga
from esd_platform.service import Service
from esd_platform.testing import isolated_settings, publish, wait_for
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port

pytestmark = pytest.mark.integration


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(body: str, name: str, **labels: str) -> float | None:
    """The first sample called ``name`` whose labels include ``labels``."""
    for (sample, sample_labels), v in samples(body).items():
        if sample == name and set(labels.items()) <= sample_labels:
            return v
    return None


@pytest.fixture
async def credit(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Service, str]]:
    port = free_port()
    monkeypatch.setenv("ESD_METRICS_PORT", str(port))
    monkeypatch.setenv("ESD_METRICS_HOST", "127.0.0.1")
    monkeypatch.setenv("ESD_METRICS_INTERVAL", "0.2")
    async with isolated_settings() as settings:
        service = build_service(settings)
        await service.start()
        try:
            yield service, f"http://127.0.0.1:{port}"
        finally:
            await service.stop()


async def test_metrics_port_counts_a_handled_message_and_samples_queues(
    credit: tuple[Service, str],
) -> None:
    service, base = credit
    partner_id = uuid.uuid4()
    event = PartnerRegistered(
        correlation_id=partner_id,
        occurred_at=datetime.now(UTC),
        partner_id=partner_id,
        reseller_id="R-000001",
        company_name='ООО "Ромашка"',
        inn="7701234567",
        credit_limit=Decimal("100000.00"),
        term_days=14,
    )
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        await publish(service.broker, event)

        async def counted() -> bool:
            body = (await http.get("/metrics")).text
            handled = value(
                body,
                "faststream_received_processed_messages_total",
                app_name="credit",
                # FastStream's rabbit label: "<exchange>.<routing key>"
                handler=f"{PartnerRegistered.exchange_name()}.{PartnerRegistered.message_type()}",
                status="acked",
            )
            return handled is not None and handled >= 1

        await wait_for(counted, timeout=15, what="the handled message counted on /metrics")

        async def sampled() -> bool:
            body = (await http.get("/metrics")).text
            return (
                value(body, "esd_outbox_backlog", service="credit") is not None
                and value(body, "esd_queue_messages", queue="credit.ReserveCredit") is not None
                and value(body, "esd_queue_consumers", queue="credit.ReserveCredit") == 1
                and value(body, "esd_queue_messages", queue="credit.ReserveCredit.dlq") == 0
            )

        await wait_for(sampled, timeout=15, what="outbox and queue gauges sampled")

        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/ready")).status_code == 200
        assert (await http.get("/nowhere")).status_code == 404


async def test_saga_duration_histogram_by_outcome() -> None:
    before = SAGA_DURATION.labels(outcome="completed")._sum.get()
    observe_saga("completed", 1.5)
    observe_saga("rejected", 0.2)
    assert SAGA_DURATION.labels(outcome="completed")._sum.get() == before + 1.5


def test_consumed_queues_come_from_the_topology() -> None:
    queues = consumed_queues("keys")
    assert "keys.IssueKeys" in queues
    assert "keys.IssueKeys.dlq" in queues
    assert all(q.startswith("keys.") for q in queues)


async def test_metrics_port_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESD_METRICS_PORT", raising=False)
    service = build_service()
    # only the broker middleware: no start/stop hooks of an exporter
    assert not any(
        type(getattr(h, "__self__", None)).__name__ == "MetricsExporter" for h in service._on_start
    )
    await asyncio.sleep(0)
    await service.engine.dispose()


async def test_keys_metrics_show_pool_stock(monkeypatch: pytest.MonkeyPatch) -> None:
    from esd_contracts.keys.commands import LoadKeyPool, PoolLoaded
    from esd_platform.testing import ask
    from keys.bootstrap import build_service as build_keys

    port = free_port()
    monkeypatch.setenv("ESD_METRICS_PORT", str(port))
    monkeypatch.setenv("ESD_METRICS_HOST", "127.0.0.1")
    monkeypatch.setenv("ESD_METRICS_INTERVAL", "0.2")
    sku = f"POOL-{uuid.uuid4().hex[:8]}"
    async with isolated_settings() as settings:
        service = build_keys(settings)
        await service.start()
        try:
            loaded = await ask(
                service.broker,
                LoadKeyPool(
                    correlation_id=uuid.uuid4(),
                    occurred_at=datetime.now(UTC),
                    sku=sku,
                    keys=tuple(f"{sku}-KEY-{n}" for n in range(3)),
                ),
                PoolLoaded,
            )
            assert loaded.available == 3
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

                async def stocked() -> bool:
                    body = (await http.get("/metrics")).text
                    return value(body, "esd_key_stock", sku=sku) == 3

                await wait_for(stocked, timeout=15, what="the pool's stock on /metrics")
        finally:
            await service.stop()


async def test_a_taken_metrics_port_does_not_stop_the_service() -> None:
    """Two services in one process (the embedded run): the second finds the port taken, warns,
    and goes on; the first serves the process's registry for both."""
    from types import SimpleNamespace

    from esd_platform.observability import MetricsExporter, MetricsSettings

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = MetricsSettings(metrics_port=port, metrics_host="127.0.0.1", metrics_interval=60)
        service = SimpleNamespace(name="nothing", schema="nothing")
        exporter = MetricsExporter(service, settings)  # type: ignore[arg-type]
        await exporter.start(service)  # type: ignore[arg-type]
        assert exporter._server is None
        await exporter.stop(service)  # type: ignore[arg-type]

"""A broker error while a service attaches (connect, declare, consume) is retried from scratch,
and the service then consumes as usual; a broker that never answers still fails the start."""

from __future__ import annotations

import gc
from typing import Any

import aio_pika
import esd_platform.messaging as messaging
import esd_platform.service as service_module
import pytest
from esd_platform.testing import isolated_settings

from libs.platform.tests.integration.test_messaging import build, command, wait_for


async def test_a_failed_declaration_is_retried_and_the_service_consumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = messaging.declare_topology  # what the service module imported and calls
    calls = 0

    async def flaky(broker: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # as RabbitMQ 3.10 does while a quorum queue elects its first leader
            raise ConnectionError("CHANNEL_ERROR - INTERNAL_ERROR")
        await real(broker)

    monkeypatch.setattr(service_module, "declare_topology", flaky)
    async with isolated_settings() as settings:
        service, seen = build(settings)
        await service.start()
        try:
            assert calls == 2
            cmd = command("10.00")
            async with service.uow.transaction() as tx:
                tx.publish(cmd)

            async def handled() -> bool:
                return seen == [cmd.order_id]

            await wait_for(handled)
        finally:
            await service.stop()


async def test_a_broker_that_never_answers_fails_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "ATTACH_ATTEMPTS", 2)
    async with isolated_settings() as settings:
        unreachable = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"})
        service, _ = build(unreachable)
        with pytest.raises(ConnectionError):
            await service.start()
    await _close_unopened(port=1)


async def _close_unopened(port: int) -> None:
    """aio-pika's ``connect_robust`` drops the connection object of a failed connect without
    closing it, and its ``__del__`` closes it only on a running loop: collected later, from a
    test without one, it warns "coroutine 'RobustConnection.close' was never awaited". Close
    this test's own (those to ``port``) while the loop runs."""
    gc.collect()
    for leftover in gc.get_objects():
        if isinstance(leftover, aio_pika.RobustConnection) and leftover.url.port == port:
            await leftover.close()

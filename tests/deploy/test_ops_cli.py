"""The operations CLI (esd_cli.ops) against a real broker and a running gateway."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage
from esd_cli import ops
from esd_cli.main import main
from esd_platform.messaging import declare_topology, make_broker
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings
from gateway.bootstrap import create_app
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client

pytestmark = pytest.mark.integration

DLQ = "credit.ReserveCredit.dlq"
ORIGIN = "credit.ReserveCredit"
TOKEN = "ops-cli-test-token"


@pytest.fixture
async def bus() -> AsyncIterator[PlatformSettings]:
    """A fresh vhost with esd's whole topology declared (no service consuming)."""
    async with isolated_settings() as settings:
        broker = make_broker(settings, "ops-test")
        await broker.connect()
        await declare_topology(broker)
        await broker.stop()
        yield settings


async def dead_letter(settings: PlatformSettings, body: dict[str, object]) -> str:
    """Put a message into the DLQ as RabbitMQ would after the delivery limit."""
    message_id = str(uuid.uuid4())
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                json.dumps(body).encode(),
                message_id=message_id,
                correlation_id=str(uuid.uuid4()),
                type="credit.ReserveCredit.v1",
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={
                    "x-death": [{"count": 8, "reason": "delivery_limit", "queue": ORIGIN}],
                    "x-first-death-queue": ORIGIN,
                    "x-first-death-reason": "delivery_limit",
                },
            ),
            routing_key=DLQ,
        )
    return message_id


async def drain(settings: PlatformSettings, queue: str) -> list[AbstractIncomingMessage]:
    taken = []
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        while (message := await q.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
    return taken


async def depth(settings: PlatformSettings, queue: str) -> int:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        return int(q.declaration_result.message_count or 0)


async def test_dlq_list_show_and_retry_move_a_dead_letter_back_to_its_queue(
    bus: PlatformSettings,
) -> None:
    first = await dead_letter(bus, {"order_id": "a", "n": 1})
    second = await dead_letter(bus, {"order_id": "b", "n": 2})

    listed = await ops.dlq_list(bus)
    assert listed == [{"queue": DLQ, "origin": ORIGIN, "messages": 2}]
    everything = await ops.dlq_list(bus, everything=True)
    assert {d["queue"] for d in everything} >= {DLQ, "keys.IssueKeys.dlq"}

    shown = await ops.dlq_show(bus, DLQ, limit=5)
    assert [m["message_id"] for m in shown] == [first, second]
    assert shown[0]["reason"] == "delivery_limit"
    assert shown[0]["first_death_queue"] == ORIGIN
    assert shown[0]["body"] == {"order_id": "a", "n": 1}
    assert await depth(bus, DLQ) == 2, "show must not take the messages"

    # one message by id: the other stays parked
    moved = await ops.dlq_retry(bus, DLQ, message_id=second)
    assert moved["moved"] == 1
    assert moved["message_ids"] == [second]
    assert moved["to"] == ORIGIN
    assert await depth(bus, DLQ) == 1

    moved = await ops.dlq_retry(bus, DLQ)
    assert moved["message_ids"] == [first]
    assert await depth(bus, DLQ) == 0

    back = await drain(bus, ORIGIN)
    assert sorted(m.message_id or "" for m in back) == sorted([first, second])
    for message in back:
        assert message.type == "credit.ReserveCredit.v1"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        headers = message.headers or {}
        assert "x-death" not in headers
        assert headers["x-esd-retried-from"] == DLQ
    assert {json.loads(m.body)["n"] for m in back} == {1, 2}
    # nothing leaked to the other consumers of the exchange
    assert await depth(bus, "keys.IssueKeys") == 0


async def test_dlq_retry_refuses_a_queue_that_is_not_a_dead_letter_queue(
    bus: PlatformSettings,
) -> None:
    await dead_letter(bus, {"n": 1})
    for wrong in (ORIGIN, "credit.Nothing.dlq", "amq.rabbitmq.reply-to"):
        with pytest.raises(ops.OpsError) as refused:
            await ops.dlq_retry(bus, wrong)
        assert refused.value.code == 2
    assert await depth(bus, DLQ) == 1
    assert await depth(bus, ORIGIN) == 0


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    async with isolated_settings() as settings:
        app = create_app(settings, GatewaySettings(ops_token=TOKEN, query_timeout=2.0))
        async with in_loop_client(app) as client:
            yield client


async def test_seed_and_approve_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    seeded = await ops.seed(gateway, TOKEN)
    assert seeded["live"] is True
    assert seeded["api_key"]
    approved = await ops.list_applications(gateway, TOKEN, "approved")
    assert [a["status"] for a in approved["items"]] == ["approved"]
    # the new key works on the partner API
    answer = await gateway.get(
        "/api/v1/catalog/products", headers={"Authorization": f"Bearer {seeded['api_key']}"}
    )
    assert answer.status_code == 200

    # approve with credit terms: a second application
    created = await gateway.post(
        "/api/v1/applications",
        json={**ops.DEMO_APPLICATION, "company_name": "ООО «Второй»", "email": "b@example.ru"},
    )
    application_id = uuid.UUID(created.json()["application_id"])
    done = await ops.approve(
        gateway, TOKEN, application_id, go_live=True, limit="250000.00", term_days=30
    )
    assert done["credit"]["credit_limit"] == "250000.00"
    assert done["credit"]["term_days"] == 30
    assert done["partner"]["live"] is True


async def test_http_commands_report_the_gateways_problem(gateway: httpx.AsyncClient) -> None:
    with pytest.raises(ops.OpsError) as refused:
        await ops.approve(gateway, "not-the-token", uuid.uuid4())
    assert "401" in str(refused.value)
    with pytest.raises(ops.OpsError) as missing:
        await ops.approve(gateway, TOKEN, uuid.uuid4())
    assert "404" in str(missing.value)
    with pytest.raises(ops.OpsError) as unknown:
        await ops.load_pool(gateway, TOKEN, "NO-SUCH-SKU", b"KEY-1\nKEY-2\n")
    assert "422 unknown_sku" in str(unknown.value)


def test_cli_prints_a_new_ops_token(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "token"
    with pytest.raises(SystemExit) as exited:
        main(["ops-token", "--write", str(target)])
    assert exited.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ops_token"].startswith("ops-")
    assert len(printed["ops_token"]) > 30
    assert target.read_text().strip() == printed["ops_token"]
    assert target.stat().st_mode & 0o777 == 0o600


def test_cli_http_commands_need_the_ops_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESD_OPS_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["approve", str(uuid.uuid4()), "--gateway", "http://127.0.0.1:9"])
    assert exited.value.code == 2
    assert "ops token" in capsys.readouterr().err


def test_cli_reports_an_unreachable_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["seed", "--gateway", "http://127.0.0.1:9", "--token", "x"])
    assert exited.value.code == 1
    assert "unreachable" in capsys.readouterr().err

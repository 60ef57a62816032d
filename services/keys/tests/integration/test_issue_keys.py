"""IssueKeys over the real broker and database: every adapter, all or nothing, exactly once,
encrypted at rest, shown only to the owner."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from keys.adapters.crypto import KeySigner, verify_key
from keys.bootstrap import build_service

from .conftest import Harness, issue_keys

pytestmark = pytest.mark.integration


class TestGenerator:
    async def test_issues_one_signed_key_per_unit(self, harness: Harness) -> None:
        cmd = issue_keys(sku="GEN-1", quantity=3)
        await harness.publish(cmd)
        [(kind, body)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysIssued"
        assert len(body["key_ids"]) == 3
        answer = await harness.order_keys(cmd.order_id, cmd.partner_id)
        assert [str(k.key_id) for k in answer.keys] == body["key_ids"]
        signer = KeySigner(harness.keys_settings.keys_signing_seed)
        for key in answer.keys:
            assert verify_key(key.activation_code, signer.public_key, sku="GEN-1")

    async def test_event_never_carries_a_key(self, harness: Harness) -> None:
        cmd = issue_keys(quantity=1)
        await harness.publish(cmd)
        [(_, body)] = await harness.outcome(cmd.order_id)
        answer = await harness.order_keys(cmd.order_id, cmd.partner_id)
        assert answer.keys[0].activation_code not in str(body)


class TestTestOrders:
    @pytest.mark.parametrize("key_source", ["generator", "pool", "vendor_api"])
    async def test_test_order_gets_test_keys_from_no_pool(
        self, harness: Harness, key_source: str
    ) -> None:
        cmd = issue_keys(sku="EMPTY-POOL", quantity=2, test=True, key_source=key_source)
        await harness.publish(cmd)
        [(kind, _)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysIssued"
        answer = await harness.order_keys(cmd.order_id, cmd.partner_id)
        assert all(k.activation_code.startswith("TEST-") for k in answer.keys)


class TestPool:
    async def test_pool_order_takes_pool_keys(self, harness: Harness) -> None:
        await harness.preload_pool("POOL-A", ["AAAA-0001", "AAAA-0002", "AAAA-0003"])
        cmd = issue_keys(sku="POOL-A", quantity=2, key_source="pool")
        await harness.publish(cmd)
        [(kind, _)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysIssued"
        answer = await harness.order_keys(cmd.order_id, cmd.partner_id)
        assert [k.activation_code for k in answer.keys] == ["AAAA-0001", "AAAA-0002"]
        [(free,)] = await harness.sql(
            "SELECT count(*) FROM pool_key WHERE sku = 'POOL-A' AND order_id IS NULL"
        )
        assert free == 1

    async def test_short_pool_fails_out_of_stock_and_takes_nothing(self, harness: Harness) -> None:
        await harness.preload_pool("POOL-B", ["BBBB-0001", "BBBB-0002"])
        cmd = issue_keys(sku="POOL-B", quantity=3, key_source="pool")
        await harness.publish(cmd)
        [(kind, body)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysFailed"
        assert body["reason"] == "out_of_stock"
        [(free,)] = await harness.sql(
            "SELECT count(*) FROM pool_key WHERE sku = 'POOL-B' AND order_id IS NULL"
        )
        assert free == 2
        assert (await harness.order_keys(cmd.order_id, cmd.partner_id)).keys == ()

    async def test_fifty_concurrent_orders_on_two_workers_issue_every_key_once(
        self, harness: Harness
    ) -> None:
        second = build_service(harness.settings, harness.keys_settings)  # competing consumer
        await second.start()
        try:
            plain = [f"CONC-{i:04d}" for i in range(90)]
            await harness.preload_pool("POOL-C", plain)
            commands = [issue_keys(sku="POOL-C", quantity=2, key_source="pool") for _ in range(50)]
            await asyncio.gather(*(harness.publish(c) for c in commands))
            outcomes = [(await harness.outcome(c.order_id))[0] for c in commands]
        finally:
            await second.stop()
        issued = [
            c for c, (kind, _) in zip(commands, outcomes, strict=True) if kind == "KeysIssued"
        ]
        failed = [body for kind, body in outcomes if kind == "KeysFailed"]
        assert len(issued) == 45
        assert len(failed) == 5
        assert {b["reason"] for b in failed} == {"out_of_stock"}
        seen: list[str] = []
        for c in issued:
            seen += [
                k.activation_code for k in (await harness.order_keys(c.order_id, c.partner_id)).keys
            ]
        assert sorted(seen) == sorted(plain)  # every key issued, none twice
        [(claimed_orders,)] = await harness.sql(
            "SELECT count(DISTINCT order_id) FROM pool_key WHERE sku = 'POOL-C'"
        )
        assert claimed_orders == 45


class TestVendorWithoutConfiguration:
    async def test_vendor_product_fails_vendor_unavailable(self, harness: Harness) -> None:
        cmd = issue_keys(sku="VEND-1", quantity=1, key_source="vendor_api", vendor="Acme")
        await harness.publish(cmd)
        [(kind, body)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysFailed"
        assert body["reason"] == "vendor_unavailable"


class TestExactlyOnce:
    async def test_redelivered_message_issues_one_set(self, harness: Harness) -> None:
        cmd = issue_keys(quantity=2)
        await harness.publish(cmd)
        await harness.publish(cmd)  # same message id: the inbox drops it
        await harness.outcome(cmd.order_id)
        second = issue_keys(order_id=cmd.order_id, partner_id=cmd.partner_id, quantity=2)
        await harness.publish(second)  # same order, new message id: answered with the same set
        answers = await harness.outcome(cmd.order_id, count=2)
        assert [kind for kind, _ in answers] == ["KeysIssued", "KeysIssued"]
        assert answers[0][1]["key_ids"] == answers[1][1]["key_ids"]
        [(stored,)] = await harness.sql(
            "SELECT count(*) FROM issued_key WHERE order_id = :o", o=cmd.order_id
        )
        assert stored == 2
        await asyncio.sleep(0.3)  # the inbox-dropped copy must not have produced an answer
        assert len(harness.events[cmd.order_id]) == 2

    async def test_concurrent_requests_for_one_order_issue_one_set(self, harness: Harness) -> None:
        first = issue_keys(sku="POOL-D", quantity=2, key_source="pool")
        await harness.preload_pool("POOL-D", [f"DDDD-{i}" for i in range(10)])
        copies = [
            issue_keys(
                sku="POOL-D",
                quantity=2,
                key_source="pool",
                order_id=first.order_id,
                partner_id=first.partner_id,
            )
            for _ in range(5)
        ]
        await asyncio.gather(*(harness.publish(c) for c in copies))
        answers = await harness.outcome(first.order_id, count=5)
        assert {tuple(body["key_ids"]) for _, body in answers} == {tuple(answers[0][1]["key_ids"])}
        [(claimed,)] = await harness.sql(
            "SELECT count(*) FROM pool_key WHERE sku = 'POOL-D' AND order_id IS NOT NULL"
        )
        assert claimed == 2

    async def test_repeat_of_a_failed_order_fails_the_same_way(self, harness: Harness) -> None:
        cmd = issue_keys(sku="POOL-EMPTY", quantity=1, key_source="pool")
        await harness.publish(cmd)
        await harness.outcome(cmd.order_id)
        await harness.preload_pool("POOL-EMPTY", ["EEEE-1"])  # stock arriving later changes nothing
        await harness.publish(
            issue_keys(
                sku="POOL-EMPTY",
                quantity=1,
                key_source="pool",
                order_id=cmd.order_id,
                partner_id=cmd.partner_id,
            )
        )
        answers = await harness.outcome(cmd.order_id, count=2)
        assert [(k, b["reason"]) for k, b in answers] == [("KeysFailed", "out_of_stock")] * 2


class TestAtRest:
    async def test_table_holds_no_plain_key(self, harness: Harness) -> None:
        await harness.preload_pool("POOL-R", ["PLAIN-SECRET-KEY-1"])
        cmd = issue_keys(sku="POOL-R", quantity=1, key_source="pool")
        gen = issue_keys(sku="GEN-R", quantity=1)
        await harness.publish(cmd)
        await harness.publish(gen)
        await harness.outcome(cmd.order_id)
        await harness.outcome(gen.order_id)
        generated = (await harness.order_keys(gen.order_id, gen.partner_id)).keys[0].activation_code
        rows = await harness.sql("SELECT * FROM issued_key")
        rows += await harness.sql("SELECT * FROM pool_key")
        dump = repr(rows)
        assert "PLAIN-SECRET-KEY-1" not in dump
        assert generated not in dump
        assert generated.replace("-", "") not in dump
        ciphertexts = await harness.sql(
            "SELECT ciphertext FROM issued_key WHERE order_id = :o", o=cmd.order_id
        )
        assert ciphertexts[0][0].startswith("k1:")
        outbox_and_events = repr(harness.events[cmd.order_id])
        assert "PLAIN-SECRET-KEY-1" not in outbox_and_events


class TestOwnership:
    async def test_only_the_owner_sees_the_keys(self, harness: Harness) -> None:
        cmd = issue_keys(quantity=2)
        await harness.publish(cmd)
        await harness.outcome(cmd.order_id)
        assert len((await harness.order_keys(cmd.order_id, cmd.partner_id)).keys) == 2
        assert (await harness.order_keys(cmd.order_id, uuid.uuid4())).keys == ()

    async def test_unknown_order_has_no_keys(self, harness: Harness) -> None:
        assert (await harness.order_keys(uuid.uuid4(), uuid.uuid4())).keys == ()

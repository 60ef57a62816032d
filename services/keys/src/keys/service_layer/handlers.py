"""Use cases of the keys service: issue an order's keys once, show them to their owner."""

from __future__ import annotations

from esd_contracts.keys.commands import IssueKeys
from esd_contracts.keys.events import KeysFailed, KeysIssued
from esd_contracts.keys.queries import GetOrderKeys, IssuedKey, OrderKeys
from esd_platform.clock import Clock
from esd_platform.logging import get_logger
from esd_platform.uow import Transaction, UnitOfWork

from keys.adapters import repository
from keys.adapters.crypto import KeyCipher
from keys.adapters.sources import Adapters
from keys.domain.model import KeyRequest, Refusal, check_complete, source_for
from keys.service_layer import pool

log = get_logger("esd.keys")


def request_of(cmd: IssueKeys) -> KeyRequest:
    return KeyRequest(
        order_id=cmd.order_id,
        partner_id=cmd.partner_id,
        sku=cmd.sku,
        quantity=cmd.quantity,
        source=source_for(test=cmd.test, key_source=cmd.key_source),
        vendor=cmd.vendor,
    )


async def issue_keys(
    cmd: IssueKeys,
    uow: UnitOfWork,
    adapters: Adapters,
    clock: Clock,
    default_low_threshold: int = 0,
) -> None:
    """All of the order's keys or none, at most one set per order, whoever asks how often."""
    request = request_of(cmd)
    adapter = adapters.for_source(request.source)
    prepared = None
    if request.source == "vendor_api":
        # The remote call happens before the transaction; skip it when the set exists already.
        async with uow.reading() as conn:
            done = await repository.outcome(conn, request.order_id)
        if done is None:
            prepared = await adapter.prepare(request)
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        now = clock.now()
        if not await repository.claim_order(tx.driver, request, now):
            await _answer_again(tx, request, clock)
            return
        result = await adapter.issue(tx.conn, request, prepared, now)
        if isinstance(result, Refusal):
            await repository.record_failed(tx.conn, request.order_id, result.reason)
            tx.publish(_failed(request, result.reason, clock))
            log.info("keys_failed", order_id=str(request.order_id), reason=result.reason)
            return
        check_complete(request, result)
        key_ids = await repository.record_issued(tx.driver, request, result, now)
        sealer = adapters.sealer
        if request.source == "pool":
            await pool.check_stock_after_claim(
                tx, request.sku, clock, default_low_threshold, request.order_id
            )
        tx.publish(
            KeysIssued(
                correlation_id=request.order_id,
                occurred_at=now,
                order_id=request.order_id,
                partner_id=request.partner_id,
                key_ids=key_ids,
                # the gateway answers the order from these, without asking us back
                sealed_keys=sealer.for_delivery(request.order_id, key_ids, result)
                if sealer is not None
                else None,
            )
        )
    log.info(
        "keys_issued", order_id=str(request.order_id), count=len(key_ids), source=request.source
    )


async def _answer_again(tx: Transaction, request: KeyRequest, clock: Clock) -> None:
    """A second request for an order: repeat what the first one ended with, issue nothing."""
    done = await repository.outcome(tx.conn, request.order_id)
    if done is None or done.status == "pending":  # cannot be: claim_order waited for its commit
        raise RuntimeError(f"order {request.order_id} has no final outcome")
    log.info("keys_request_repeated", order_id=str(request.order_id), status=done.status)
    if done.status == "issued":
        tx.publish(
            KeysIssued(
                correlation_id=request.order_id,
                occurred_at=clock.now(),
                order_id=request.order_id,
                partner_id=done.partner_id,
                key_ids=done.key_ids,
            )
        )
    else:
        tx.publish(_failed(request, done.reason or "vendor_unavailable", clock))


def _failed(request: KeyRequest, reason: str, clock: Clock) -> KeysFailed:
    return KeysFailed(
        correlation_id=request.order_id,
        occurred_at=clock.now(),
        order_id=request.order_id,
        partner_id=request.partner_id,
        reason=reason,
    )


async def get_order_keys(query: GetOrderKeys, uow: UnitOfWork, cipher: KeyCipher) -> OrderKeys:
    """The plain keys of an order for its owner; for anyone else an empty answer."""
    async with uow.reading() as conn:  # one statement: no BEGIN/ROLLBACK, once per order
        rows = await repository.order_keys(conn, query.order_id, query.partner_id)
    return OrderKeys(
        keys=tuple(
            IssuedKey(key_id=key_id, activation_code=cipher.open(ciphertext))
            for key_id, ciphertext in rows
        )
    )
